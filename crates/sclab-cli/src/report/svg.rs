//! Small self-contained SVG charts for reports: a per-round line with its 95 % band, a
//! reliability diagram, and a layer-by-round heatmap. Every label is escaped text.

use std::fmt::Write;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 320.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 48.0;

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

struct Frame {
    x: (f64, f64),
    y: (f64, f64),
}

impl Frame {
    fn px(&self, x: f64) -> f64 {
        let span = (self.x.1 - self.x.0).max(1e-12);
        LEFT + (x - self.x.0) / span * (WIDTH - LEFT - RIGHT)
    }
    fn py(&self, y: f64) -> f64 {
        let span = (self.y.1 - self.y.0).max(1e-12);
        HEIGHT - BOTTOM - (y - self.y.0) / span * (HEIGHT - TOP - BOTTOM)
    }
}

fn open(svg: &mut String, title: &str, x_label: &str, y_label: &str) {
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(svg, r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#);
    let _ = write!(svg, r#"<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{}</text>"#, escape(title));
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        (LEFT + WIDTH - RIGHT) / 2.0,
        HEIGHT - 10.0,
        escape(x_label)
    );
    let _ = write!(
        svg,
        r#"<text transform="translate(16 {}) rotate(-90)" text-anchor="middle">{}</text>"#,
        (TOP + HEIGHT - BOTTOM) / 2.0,
        escape(y_label)
    );
}

fn axes(svg: &mut String, frame: &Frame, x_ticks: &[(f64, String)]) {
    let (x0, x1, y0, y1) = (LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM);
    let _ = write!(svg, r##"<path d="M{x0} {y0}V{y1}H{x1}" fill="none" stroke="#444"/>"##);
    for (x, label) in x_ticks {
        let px = frame.px(*x);
        let _ = write!(svg, r##"<line x1="{px:.1}" y1="{y1}" x2="{px:.1}" y2="{}" stroke="#444"/>"##, y1 + 4.0);
        let _ = write!(svg, r#"<text x="{px:.1}" y="{}" text-anchor="middle">{}</text>"#, y1 + 18.0, escape(label));
    }
    for i in 0..=4 {
        let v = frame.y.0 + (frame.y.1 - frame.y.0) * i as f64 / 4.0;
        let py = frame.py(v);
        let _ = write!(svg, r##"<line x1="{x0}" y1="{py:.1}" x2="{x1}" y2="{py:.1}" stroke="#ddd"/>"##);
        let _ = write!(svg, r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#, x0 - 6.0, py + 4.0, tick(v));
    }
}

fn tick(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// One series of a line chart: points `(round, mean, interval low, interval high)`; a point
/// without an interval has both bounds at its mean.
pub struct Series<'a> {
    pub label: &'a str,
    pub colour: &'a str,
    pub points: Vec<(f64, f64, f64, f64)>,
}

/// Mean per round with a shaded 95 % band; `unit_interval` fixes the y axis to [0, 1].
pub fn line_chart(title: &str, y_label: &str, series: &[Series], unit_interval: bool) -> String {
    let all = || series.iter().flat_map(|s| s.points.iter());
    let (mut lo, mut hi) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.2), hi.max(p.3)));
    if unit_interval || !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    } else {
        let pad = ((hi - lo) * 0.08).max(1e-3);
        (lo, hi) = (lo - pad, hi + pad);
    }
    let (x0, x1) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (x0, x1) = if x0.is_finite() { (x0 - 0.3, x1 + 0.3) } else { (0.0, 1.0) };
    let frame = Frame { x: (x0, x1), y: (lo, hi) };
    let mut svg = String::new();
    open(&mut svg, title, "round", y_label);
    let ticks: Vec<(f64, String)> = {
        let mut rounds: Vec<i64> = all().map(|p| p.0 as i64).collect();
        rounds.sort_unstable();
        rounds.dedup();
        rounds.into_iter().map(|r| (r as f64, r.to_string())).collect()
    };
    axes(&mut svg, &frame, &ticks);
    for (k, s) in series.iter().enumerate() {
        if s.points.is_empty() {
            continue;
        }
        let upper: Vec<String> =
            s.points.iter().map(|p| format!("{:.1},{:.1}", frame.px(p.0), frame.py(p.3))).collect();
        let lower: Vec<String> =
            s.points.iter().rev().map(|p| format!("{:.1},{:.1}", frame.px(p.0), frame.py(p.2))).collect();
        let _ = write!(
            svg,
            r#"<polygon points="{} {}" fill="{}" fill-opacity="0.18" stroke="none"/>"#,
            upper.join(" "),
            lower.join(" "),
            s.colour
        );
        let line: Vec<String> = s.points.iter().map(|p| format!("{:.1},{:.1}", frame.px(p.0), frame.py(p.1))).collect();
        let _ = write!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>"#,
            line.join(" "),
            s.colour
        );
        for p in &s.points {
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}"><title>round {}: {:.4} [{:.4}, {:.4}]</title></circle>"#,
                frame.px(p.0),
                frame.py(p.1),
                s.colour,
                p.0,
                p.1,
                p.2,
                p.3
            );
        }
        let ly = TOP + 4.0 + 16.0 * k as f64;
        let _ = write!(
            svg,
            r#"<rect x="{}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            WIDTH - RIGHT - 170.0,
            ly,
            s.colour,
            WIDTH - RIGHT - 155.0,
            ly + 9.0,
            escape(s.label)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// One round's reliability bins: `(mean confidence, accuracy, answers)` of each non-empty bin.
pub struct Reliability {
    pub label: String,
    pub colour: &'static str,
    pub bins: Vec<(f64, f64, usize)>,
}

/// Accuracy against mean confidence per bin, one series per round, with the diagonal.
pub fn reliability_diagram(title: &str, series: &[Reliability]) -> String {
    let frame = Frame { x: (0.0, 1.0), y: (0.0, 1.0) };
    let mut svg = String::new();
    open(&mut svg, title, "confidence (mean per bin)", "accuracy");
    let ticks: Vec<(f64, String)> = (0..=5).map(|i| (i as f64 / 5.0, format!("{:.1}", i as f64 / 5.0))).collect();
    axes(&mut svg, &frame, &ticks);
    let _ = write!(
        svg,
        r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#999" stroke-dasharray="4 4"/>"##,
        frame.px(0.0),
        frame.py(0.0),
        frame.px(1.0),
        frame.py(1.0)
    );
    for (k, Reliability { label, colour, bins }) in series.iter().enumerate() {
        let line: Vec<String> = bins.iter().map(|b| format!("{:.1},{:.1}", frame.px(b.0), frame.py(b.1))).collect();
        let _ =
            write!(svg, r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#, line.join(" "));
        for b in bins {
            let r = 2.0 + (b.2 as f64).sqrt().min(8.0);
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="{r:.1}" fill="{colour}" fill-opacity="0.7"><title>{} answers: confidence {:.3}, accuracy {:.3}</title></circle>"#,
                frame.px(b.0),
                frame.py(b.1),
                b.2,
                b.0,
                b.1
            );
        }
        let ly = TOP + 4.0 + 16.0 * k as f64;
        let _ = write!(
            svg,
            r#"<rect x="{}" y="{ly}" width="10" height="10" fill="{colour}"/><text x="{}" y="{}">{}</text>"#,
            LEFT + 10.0,
            LEFT + 25.0,
            ly + 9.0,
            escape(label)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Values by layer (rows, the last on top) and round (columns) on a diverging scale around 0.
pub fn heatmap(title: &str, rounds: &[usize], values: &[Vec<f64>]) -> String {
    let layers = values.iter().map(Vec::len).min().unwrap_or(0);
    let max = values.iter().flatten().fold(0f64, |m, v| m.max(v.abs())).max(1e-9);
    let mut svg = String::new();
    open(&mut svg, title, "round", "layer");
    let (w, h) = (WIDTH - LEFT - RIGHT - 60.0, HEIGHT - TOP - BOTTOM);
    let cw = w / rounds.len().max(1) as f64;
    let ch = h / layers.max(1) as f64;
    for (c, (round, column)) in rounds.iter().zip(values).enumerate() {
        for (l, &v) in column.iter().take(layers).enumerate() {
            let (x, y) = (LEFT + c as f64 * cw, TOP + (layers - 1 - l) as f64 * ch);
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>round {round}, layer {l}: {v:.4}</title></rect>"#,
                cw + 0.5,
                ch + 0.5,
                diverging(v / max)
            );
        }
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{round}</text>"#,
            LEFT + (c as f64 + 0.5) * cw,
            HEIGHT - BOTTOM + 16.0
        );
    }
    for l in (0..layers).step_by(5.max(layers / 6)) {
        let y = TOP + (layers - 1 - l) as f64 * ch + ch / 2.0 + 4.0;
        let _ = write!(svg, r#"<text x="{}" y="{y:.1}" text-anchor="end">{l}</text>"#, LEFT - 6.0);
    }
    let lx = WIDTH - RIGHT - 40.0;
    for i in 0..=10 {
        let v = 1.0 - i as f64 / 5.0;
        let _ = write!(
            svg,
            r#"<rect x="{lx}" y="{:.1}" width="14" height="{:.1}" fill="{}"/>"#,
            TOP + i as f64 * h / 11.0,
            h / 11.0 + 0.5,
            diverging(v)
        );
    }
    let _ = write!(svg, r#"<text x="{}" y="{}">{}</text>"#, lx + 18.0, TOP + 10.0, tick(max));
    let _ = write!(svg, r#"<text x="{}" y="{}">{}</text>"#, lx + 18.0, TOP + h, tick(-max));
    svg.push_str("</svg>\n");
    svg
}

/// Blue (−1) through white (0) to red (+1).
fn diverging(t: f64) -> String {
    let t = t.clamp(-1.0, 1.0);
    let (r, g, b) = if t >= 0.0 {
        (255.0, 255.0 - 180.0 * t, 255.0 - 200.0 * t)
    } else {
        (255.0 + 200.0 * t, 255.0 + 140.0 * t, 255.0)
    };
    format!("rgb({:.0},{:.0},{:.0})", r, g, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_points_placed() {
        let series =
            [Series { label: "<b>&", colour: "#c00", points: vec![(1.0, 0.0, 0.0, 0.0), (2.0, 1.0, 1.0, 1.0)] }];
        let svg = line_chart("a < b", "share", &series, true);
        assert!(svg.contains("a &lt; b") && svg.contains("&lt;b&gt;&amp;") && !svg.contains("<b>"));
        // Round 1 at the left edge of the plot area, value 0 on the bottom axis.
        let bottom = HEIGHT - BOTTOM;
        assert!(
            svg.contains(&format!("cx=\"{:.1}\" cy=\"{bottom:.1}\"", Frame { x: (0.7, 2.3), y: (0.0, 1.0) }.px(1.0)))
        );
    }

    #[test]
    fn diverging_scale_is_white_at_zero() {
        assert_eq!(diverging(0.0), "rgb(255,255,255)");
        assert_eq!(diverging(1.0), "rgb(255,75,55)");
        assert_eq!(diverging(-1.0), "rgb(55,115,255)");
    }
}
