//! The run's PNG plot: training loss (total and per term) and dev accuracy per epoch.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::FontStyle;

use super::EpochMetrics;

/// Where Debian keeps the font the plot labels need (`fonts-dejavu-core`, installed by setup).
const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// A loss curve of the plot: its legend, colour and value per epoch.
type LossSeries = (&'static str, RGBColor, fn(&EpochMetrics) -> f64);
fn register_font() -> Result<(), String> {
    static REGISTERED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let bytes = std::fs::read(FONT).map_err(|e| format!("{FONT}: {e}"))?;
            // plotters keeps fonts for the whole process.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
                .map_err(|_| format!("{FONT} is not a usable font"))
        })
        .clone()
}

/// Draws `metrics` into `path` (two panels: losses, dev acc@1).
pub fn draw(metrics: &[EpochMetrics], path: &Path, title: &str) -> Result<(), String> {
    if metrics.is_empty() {
        return Err("no epoch to plot".into());
    }
    register_font()?;
    let root = BitMapBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (left, right) = root.split_horizontally(520);
    let epochs = metrics.len() as f64;
    let max_loss = metrics
        .iter()
        .map(|m| m.loss.max(m.loss_infonce))
        .fold(0.0f64, f64::max)
        * 1.05;

    let mut chart = ChartBuilder::on(&left)
        .caption(format!("training loss — {title}"), ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(48)
        .build_cartesian_2d(1.0..epochs.max(2.0), 0.0..max_loss.max(1e-6))
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("loss")
        .draw()
        .map_err(|e| e.to_string())?;
    let series: [LossSeries; 4] = [
        ("total", BLACK, |m| m.loss),
        ("InfoNCE", BLUE, |m| m.loss_infonce),
        ("self", GREEN, |m| m.loss_self),
        ("hard", RED, |m| m.loss_hard),
    ];
    for (name, colour, value) in series {
        if metrics.iter().all(|m| value(m) == 0.0) {
            continue;
        }
        chart
            .draw_series(LineSeries::new(
                metrics.iter().map(|m| (m.epoch as f64, value(m))),
                colour.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;

    let mut chart = ChartBuilder::on(&right)
        .caption("dev accuracy (whole KB)", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(48)
        .build_cartesian_2d(1.0..epochs.max(2.0), 0.0..100.0)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("acc@1 %")
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(LineSeries::new(
            metrics.iter().map(|m| (m.epoch as f64, 100.0 * m.dev_acc1)),
            BLUE.stroke_width(2),
        ))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}
