// The results of one drop of photos, as files a user takes away: JSON (everything the linker
// answered) and CSV (one row per subject, for a spreadsheet). Pure functions, no page state.

/** One photo's outcome: `{ file, subjects }` when linked, `{ file, error: { name, message } }` when not. */

/** The whole drop as JSON text: `{ knowledgeBase, linkedAt, photos: [...] }`. */
export function toJson(knowledgeBase, photos) {
  return JSON.stringify({ knowledgeBase, linkedAt: new Date().toISOString(), photos }, null, 2) + "\n";
}

const CSV_COLUMNS = [
  "file", "subject", "x1", "y1", "x2", "y2", "known", "id", "name", "description", "url", "score", "error",
];

/** One row per subject (its best match; "known" false when the bundle abstained), one per photo
 * without a subject or with an error. RFC 4180 quoting; text that a spreadsheet would run as a
 * formula (=, +, -, @ first) is prefixed with a quote, since KB names are not ours to trust. */
export function toCsv(photos) {
  const rows = [CSV_COLUMNS];
  for (const photo of photos) {
    if (photo.error || !photo.subjects?.length) {
      rows.push([photo.file, "", "", "", "", "", "", "", "", "", "", "",
        photo.error ? photo.error.message : "no subject found"]);
      continue;
    }
    photo.subjects.forEach((s, i) => {
      const best = s.matches[0] ?? {};
      const { x1, y1, x2, y2 } = s.box;
      rows.push([photo.file, i + 1, x1, y1, x2, y2, s.known, best.id ?? "", best.name ?? "",
        best.description ?? "", best.url ?? "", best.score?.toFixed(4) ?? "", ""]);
    });
  }
  return rows.map((row) => row.map(csvField).join(",")).join("\r\n") + "\r\n";
}

function csvField(value) {
  let text = String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
