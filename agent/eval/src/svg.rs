//! Inline SVG charts for the HTML report, written by hand (no JavaScript, no external
//! assets): grouped horizontal bars of rates, and strip plots of distributions.

use std::fmt::Write as _;

/// Series colours, in order (colour-blind friendly enough, and printable).
pub const PALETTE: [&str; 8] = [
    "#2b6cb0", "#dd6b20", "#2f855a", "#6b46c1", "#b83280", "#718096", "#c53030", "#319795",
];

const WIDTH: f64 = 720.0;
const LABEL: f64 = 190.0;
const PLOT: f64 = WIDTH - LABEL - 60.0;
const BAR: f64 = 14.0;

/// The colour of series `i`.
pub fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// Text safe inside HTML and SVG.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Grouped horizontal bars of rates (0–1): one group per row label, one bar per series.
pub fn rate_bars(id: &str, title: &str, rows: &[(String, Vec<f64>)], series: &[String]) -> String {
    let per_group = BAR * series.len().max(1) as f64 + 10.0;
    let height = 50.0 + per_group * rows.len().max(1) as f64 + 22.0 * series.len() as f64;
    let mut o = open(id, title, height);
    axis_percent(&mut o, 30.0, 30.0 + per_group * rows.len() as f64);
    for (g, (label, values)) in rows.iter().enumerate() {
        let top = 34.0 + per_group * g as f64;
        let _ = write!(
            o,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="end" class="label">{}</text>"#,
            esc(label),
            x = LABEL - 8.0,
            y = top + per_group / 2.0
        );
        for (s, v) in values.iter().enumerate() {
            let y = top + BAR * s as f64;
            let w = (v.clamp(0.0, 1.0) * PLOT).max(1.0);
            let _ = write!(
                o,
                r#"<rect x="{LABEL}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{c}"><title>{t}: {p:.0} %</title></rect><text x="{tx:.1}" y="{ty:.1}" class="value">{p:.0} %</text>"#,
                h = BAR - 2.0,
                c = colour(s),
                t = esc(&format!(
                    "{label} · {}",
                    series.get(s).map_or("", String::as_str)
                )),
                p = v * 100.0,
                tx = LABEL + w + 4.0,
                ty = y + BAR - 4.0,
            );
        }
    }
    legend(&mut o, series, 40.0 + per_group * rows.len() as f64);
    o.push_str("</svg>");
    o
}

/// One strip per row: every value as a dot, the median as a bar, the 95th percentile as a
/// tick, on a shared linear axis from 0.
pub fn strips(id: &str, title: &str, rows: &[(String, Vec<f64>)], unit: &str) -> String {
    let row_h = 26.0;
    let height = 70.0 + row_h * rows.len().max(1) as f64;
    let max = rows
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let x = |v: f64| LABEL + (v / max) * PLOT;
    let mut o = open(id, title, height);
    let bottom = 34.0 + row_h * rows.len() as f64;
    for i in 0..=4 {
        let v = max * i as f64 / 4.0;
        let _ = write!(
            o,
            r#"<line x1="{x:.1}" y1="30" x2="{x:.1}" y2="{bottom:.1}" class="grid"/><text x="{x:.1}" y="{ty:.1}" text-anchor="middle" class="tick">{}</text>"#,
            short(v),
            x = x(v),
            ty = bottom + 14.0
        );
    }
    let _ = write!(
        o,
        r#"<text x="{cx:.1}" y="{y:.1}" text-anchor="middle" class="tick">{}</text>"#,
        esc(unit),
        cx = LABEL + PLOT / 2.0,
        y = bottom + 30.0
    );
    for (r, (label, values)) in rows.iter().enumerate() {
        let cy = 30.0 + row_h * r as f64 + row_h / 2.0;
        let _ = write!(
            o,
            r#"<text x="{lx:.1}" y="{ty:.1}" text-anchor="end" class="label">{}</text>"#,
            esc(label),
            lx = LABEL - 8.0,
            ty = cy + 4.0
        );
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        for v in &sorted {
            let _ = write!(
                o,
                r#"<circle cx="{:.1}" cy="{cy:.1}" r="3.5" fill="{c}" fill-opacity="0.55"><title>{}</title></circle>"#,
                x(*v),
                short(*v),
                c = colour(r)
            );
        }
        if !sorted.is_empty() {
            let p50 = crate::results::percentile(&sorted, 0.5);
            let p95 = crate::results::percentile(&sorted, 0.95);
            let _ = write!(
                o,
                r#"<line x1="{m:.1}" y1="{a:.1}" x2="{m:.1}" y2="{b:.1}" class="median"><title>median {}</title></line><line x1="{q:.1}" y1="{c:.1}" x2="{q:.1}" y2="{d:.1}" class="p95"><title>p95 {}</title></line>"#,
                short(p50),
                short(p95),
                m = x(p50),
                q = x(p95),
                a = cy - 9.0,
                b = cy + 9.0,
                c = cy - 6.0,
                d = cy + 6.0,
            );
        }
    }
    o.push_str("</svg>");
    o
}

fn open(id: &str, title: &str, height: f64) -> String {
    format!(
        r#"<svg id="{id}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0}" width="{WIDTH}" height="{height:.0}" role="img" aria-label="{t}"><title>{t}</title><text x="8" y="18" class="title">{t}</text>"#,
        id = esc(id),
        t = esc(title)
    )
}

fn axis_percent(o: &mut String, top: f64, bottom: f64) {
    for i in 0..=4 {
        let x = LABEL + PLOT * i as f64 / 4.0;
        let _ = write!(
            o,
            r#"<line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}" class="grid"/><text x="{x:.1}" y="{ty:.1}" text-anchor="middle" class="tick">{} %</text>"#,
            i * 25,
            ty = bottom + 12.0
        );
    }
}

fn legend(o: &mut String, series: &[String], top: f64) {
    for (i, s) in series.iter().enumerate() {
        let y = top + 12.0 + 20.0 * i as f64;
        let _ = write!(
            o,
            r#"<rect x="{LABEL}" y="{ry:.1}" width="12" height="12" fill="{c}"/><text x="{tx:.1}" y="{y:.1}" class="label">{}</text>"#,
            esc(s),
            ry = y - 10.0,
            c = colour(i),
            tx = LABEL + 18.0,
        );
    }
}

/// A number for an axis or a tooltip: 12, 3.4, 12.3k, 1.2M.
pub fn short(v: f64) -> String {
    match v.abs() {
        a if a >= 1e6 => format!("{:.1}M", v / 1e6),
        a if a >= 1e4 => format!("{:.0}k", v / 1e3),
        a if a >= 1e3 => format!("{:.1}k", v / 1e3),
        a if a >= 10.0 || a == 0.0 => format!("{v:.0}"),
        _ => format!("{v:.1}"),
    }
}
