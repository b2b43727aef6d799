//! Small server-side SVG charts (no JavaScript): stacked bar charts and
//! horizontal bar charts with legends and per-bar tooltips.

use maud::{html, Markup};

/// One stacked series: name, CSS colour and a value per category.
pub struct Series {
    pub name: String,
    pub color: &'static str,
    pub values: Vec<f64>,
}

fn nice_max(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    for step in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if max <= step * magnitude {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

fn legend(series: &[Series]) -> Markup {
    html! {
        ul.legend {
            @for s in series {
                li { span.swatch style={ "background:" (s.color) } {} (s.name) }
            }
        }
    }
}

/// A drawn part of a stacked bar: y, height, colour, tooltip.
type Segment<'a> = (f64, f64, &'a str, String);

/// A vertical stacked bar chart: one bar per category.
pub fn stacked_bars(title: &str, categories: &[String], series: &[Series]) -> Markup {
    let (width, height, left, bottom, top) = (760.0, 260.0, 48.0, 44.0, 10.0);
    let plot_h = height - bottom - top;
    let totals: Vec<f64> = (0..categories.len())
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0.0))
                .sum()
        })
        .collect();
    let max = nice_max(totals.iter().copied().fold(0.0, f64::max));
    let slot = (width - left - 8.0) / categories.len().max(1) as f64;
    let bar_w = (slot * 0.75).max(1.0);
    let label_every = (categories.len() / 10).max(1);
    // Per category: bar x and its stacked segments (y, height, colour, tooltip).
    let bars: Vec<(f64, Vec<Segment>)> = categories
        .iter()
        .enumerate()
        .map(|(i, cat)| {
            let x = left + slot * i as f64 + (slot - bar_w) / 2.0;
            let mut base = 0.0;
            let mut segments = Vec::new();
            for s in series {
                let v = s.values.get(i).copied().unwrap_or(0.0);
                if v > 0.0 {
                    let h = plot_h * v / max;
                    let y = top + plot_h - plot_h * base / max - h;
                    segments.push((
                        y,
                        h,
                        s.color,
                        format!("{cat}: {} {}", s.name, format_value(v)),
                    ));
                    base += v;
                }
            }
            (x, segments)
        })
        .collect();
    html! {
        figure.chart {
            figcaption { (title) }
            svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (width) " " (height) } role="img" aria-label=(title) {
                @for i in 0..=4 {
                    @let y = top + plot_h - plot_h * i as f64 / 4.0;
                    line x1=(left) x2=(width - 4.0) y1=(y) y2=(y) class="grid" {}
                    text x=(left - 6.0) y=(y + 4.0) text-anchor="end" class="axis" { (format_value(max * i as f64 / 4.0)) }
                }
                @for (i, (x, segments)) in bars.iter().enumerate() {
                    @for (y, h, color, tip) in segments {
                        rect x=(format!("{x:.1}")) y=(format!("{y:.1}")) width=(format!("{bar_w:.1}")) height=(format!("{h:.1}")) fill=(color) {
                            title { (tip) }
                        }
                    }
                    @if i % label_every == 0 {
                        text x=(format!("{:.1}", x + bar_w / 2.0)) y=(height - bottom + 16.0) text-anchor="middle" class="axis" { (categories[i]) }
                    }
                }
            }
            (legend(series))
        }
    }
}

/// A horizontal bar chart of labelled values.
pub fn horizontal_bars(title: &str, bars: &[(String, f64, String)]) -> Markup {
    let row = 22.0;
    let (width, left) = (760.0, 220.0);
    let height = row * bars.len().max(1) as f64 + 8.0;
    let max = bars
        .iter()
        .map(|b| b.1)
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    html! {
        figure.chart {
            figcaption { (title) }
            svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (width) " " (height) } role="img" aria-label=(title) {
                @for (i, (label, value, text)) in bars.iter().enumerate() {
                    @let y = 4.0 + row * i as f64;
                    @let w = (width - left - 120.0) * value / max;
                    text x=(left - 8.0) y=(y + 15.0) text-anchor="end" class="axis" { (label) }
                    rect x=(left) y=(y + 3.0) width=(format!("{w:.1}")) height=(row - 6.0) fill="#3c6eb4" {
                        title { (label) ": " (text) }
                    }
                    text x=(format!("{:.1}", left + w + 6.0)) y=(y + 15.0) class="axis" { (text) }
                }
            }
        }
    }
}

fn format_value(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_and_renders() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(130.0), 200.0);
        let svg = stacked_bars(
            "Builds",
            &["d1".into(), "d2".into()],
            &[Series {
                name: "ok".into(),
                color: "green",
                values: vec![1.0, 3.0],
            }],
        )
        .into_string();
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("d2: ok 3"), "{svg}");
    }
}
