//! `photolink link`: a photo linked with a bundle folder, through the same loader and linker as the
//! page.

use anyhow::{Context, Result};
use photolink_core::backend::Compute;
use photolink_core::linker::{LinkOptions, Linker};
use photolink_core::photo::{DecodeLimits, PhotoError, decode};

use super::args::LinkArgs;

/// Links the photo of `args`.
pub fn run(args: &LinkArgs) -> Result<()> {
    let compute = if args.cpu {
        Compute::cpu()
    } else {
        Compute::gpu_or_cpu()
    };
    let linker = Linker::open(&args.bundle, compute, args.precision)?;
    // Size-checked before it is read: a FIFO, a device or a huge file is refused, not read.
    let limits = DecodeLimits {
        accept_truncated: args.accept_damaged,
        ..DecodeLimits::default()
    };
    let bytes = photolink_kb::bounded_read::read(&args.photo, limits.max_bytes as u64)
        .with_context(|| format!("{}", args.photo.display()))?;
    let image = decode(&bytes, &limits).map_err(|e| {
        let hint = match e {
            PhotoError::Truncated => " (--accept-damaged links what there is of it)",
            _ => "",
        };
        anyhow::Error::new(e).context(format!("{}{hint}", args.photo.display()))
    })?;
    let options = LinkOptions {
        k: args.k,
        bbox: args.bbox,
    };
    if args.vectors {
        let subjects = pollster::block_on(linker.subject_vectors(&image, options))?;
        let list: Vec<_> = subjects
            .into_iter()
            .map(
                |(b, score, v)| serde_json::json!({"box": b, "detectionScore": score, "vector": v}),
            )
            .collect();
        println!("{}", serde_json::to_string(&list)?);
        return Ok(());
    }
    let subjects = pollster::block_on(linker.link(&image, options))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&subjects)?);
        return Ok(());
    }
    eprintln!(
        "link: {} on {}",
        printable(&linker.config().title),
        linker.compute().info
    );
    if subjects.is_empty() {
        println!("no face found: pass --box x1,y1,x2,y2 to link a region");
    }
    for (i, s) in subjects.iter().enumerate() {
        let b = s.bbox;
        println!(
            "subject {} at [{:.0}, {:.0}, {:.0}, {:.0}]",
            i + 1,
            b.x1,
            b.y1,
            b.x2,
            b.y2
        );
        if !s.known {
            println!("  not in this knowledge base; the closest entities:");
        }
        for (rank, m) in s.matches.iter().enumerate() {
            println!(
                "  {}. {:.3}  {}  — {}",
                rank + 1,
                m.score,
                printable(&m.name),
                printable(&m.description)
            );
        }
    }
    Ok(())
}

/// A bundle's text as the terminal should show it: metadata is data, so control characters (an
/// escape sequence could recolour, move or retitle the terminal) and the bidirectional overrides
/// (which could show a name backwards) each become U+FFFD.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            if c.is_control() || bidi {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_and_bidi_overrides_are_neutralised() {
        assert_eq!(
            printable("Ada Lovelace — née Byron"),
            "Ada Lovelace — née Byron"
        );
        assert_eq!(
            printable("\u{1b}]0;pwned\u{7}\u{1b}[2J name\r\nline \u{202e}evil"),
            "\u{fffd}]0;pwned\u{fffd}\u{fffd}[2J name\u{fffd}\u{fffd}line \u{fffd}evil"
        );
    }
}
