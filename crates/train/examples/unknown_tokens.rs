//! How much of a KB's text the text tower can read: each entity's text (as training and export
//! write it) through the tower's own `tokenizer.json`, counting `[UNK]` tokens and lengths.
//!
//! ```sh
//! cargo run --release -p photolink-train --example unknown_tokens -- <kb.jsonl> models/minilm/tokenizer.json
//! ```
//! The glyph KB's names start with the character itself, which an English vocabulary mostly
//! cannot read; the figures are given with and without that first word.

use std::path::Path;

use photolink_core::towers::minilm::MAX_TOKENS;
use photolink_train::data::{entity_text, read_kb};
use tokenizers::Tokenizer;

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, kb, tokenizer] = args.as_slice() else {
        return Err("usage: unknown_tokens <kb.jsonl> <tokenizer.json>".into());
    };
    let entities = read_kb(Path::new(kb))?;
    let mut tokenizer = Tokenizer::from_file(tokenizer)?;
    // Each text's own length: the file pads and cuts at 128, the tower reads up to MAX_TOKENS.
    tokenizer.with_padding(None);
    tokenizer.with_truncation(None)?;
    let unk = tokenizer
        .token_to_id("[UNK]")
        .ok_or("the tokenizer has no [UNK] token")?;
    for (label, skip_first_word) in [
        ("whole text", false),
        ("without the name's first word", true),
    ] {
        let (mut tokens, mut unknown, mut with_unknown) = (0usize, 0usize, 0usize);
        let mut lengths = Vec::with_capacity(entities.len());
        for entity in &entities {
            let text = entity_text(entity);
            let text = match skip_first_word {
                true => text
                    .split_once(' ')
                    .map_or("", |(_, rest)| rest)
                    .to_string(),
                false => text,
            };
            // Without [CLS]/[SEP]: only the text's own tokens.
            let ids = tokenizer.encode(text.as_str(), false)?.get_ids().to_vec();
            let n_unk = ids.iter().filter(|&&id| id == unk).count();
            tokens += ids.len();
            unknown += n_unk;
            with_unknown += usize::from(n_unk > 0);
            lengths.push(ids.len());
        }
        lengths.sort_unstable();
        let at = |q: f64| lengths[((lengths.len() - 1) as f64 * q).round() as usize];
        println!(
            "{label}: {} entities, {tokens} tokens, {unknown} [UNK] ({:.3} %), {with_unknown} entities with any [UNK]; tokens per text: median {}, p99 {}, max {}, {} over {} (cut at the tower's {} with [CLS]/[SEP])",
            entities.len(),
            100.0 * unknown as f64 / tokens.max(1) as f64,
            at(0.5),
            at(0.99),
            at(1.0),
            lengths.iter().filter(|&&n| n > MAX_TOKENS - 2).count(),
            MAX_TOKENS - 2,
            MAX_TOKENS,
        );
    }
    Ok(())
}
