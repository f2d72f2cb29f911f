//! The one progress bar of the native steps that take minutes (features, KB encoding, reference
//! pictures), so that every step reports alike.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps labelled `what`, with the elapsed time and an estimate of the rest.
pub(crate) fn bar(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>14} {bar:40} {pos}/{len} [{elapsed} < {eta}]")
            .expect("valid template"),
    );
    bar.set_message(what.to_string());
    bar
}
