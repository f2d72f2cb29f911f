// The drop's downloads (www/batch-results.js) on their own: CSV quoting, and KB text that a
// spreadsheet would run as a formula.
import { test } from "node:test";
import assert from "node:assert/strict";
import { toCsv, toJson } from "../../www/batch-results.js";

const subject = (name, known = true) => ({
  box: { x1: 1, y1: 2, x2: 30, y2: 40 }, known,
  matches: [{ id: "q1", name, description: "a, \"quoted\"\nline", url: null, score: 0.71234 }],
});

test("CSV: one row per subject, fields quoted, formulas defused", () => {
  const csv = toCsv([
    { file: "a.png", subjects: [subject("=HYPERLINK(\"x\")"), subject("Bob", false)] },
    { file: "b.png", subjects: [] },
    { file: "c.jpg", error: { name: "Error", message: "the file is empty" } },
  ]);
  const lines = csv.split("\r\n");
  assert.equal(lines[0], "file,subject,x1,y1,x2,y2,known,id,name,description,url,score,error");
  // Records end in CRLF; the description's own line break stays inside its quotes.
  assert.equal(lines[1], `a.png,1,1,2,30,40,true,q1,"'=HYPERLINK(""x"")","a, ""quoted""\nline",,0.7123,`);
  assert.ok(lines[2].startsWith("a.png,2,1,2,30,40,false,q1,Bob,"));
  assert.equal(lines[3], "b.png,,,,,,,,,,,,no subject found");
  assert.equal(lines[4], "c.jpg,,,,,,,,,,,,the file is empty");
  assert.equal(lines.at(-1), "", "ends with a line break");
});

test("JSON: the knowledge base and every photo as answered", () => {
  const photos = [{ file: "a.png", subjects: [subject("Ann")] }];
  const report = JSON.parse(toJson("Players", photos));
  assert.equal(report.knowledgeBase, "Players");
  assert.ok(!Number.isNaN(Date.parse(report.linkedAt)));
  assert.deepEqual(report.photos, photos);
});
