//! `bench.svg`: the best score against iterations (each arm's median, with
//! a band from its worst to its best run) and against tokens (medians).

use std::fmt::Write as _;

use crate::report::{ArmReport, BenchReport};

const COLOURS: [&str; 6] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];
const WIDTH: f64 = 480.0;
const HEIGHT: f64 = 300.0;
const PAD: f64 = 48.0;

/// The two panels, side by side, as one SVG document.
pub fn plot(report: &BenchReport) -> String {
    let values =
        report.arms.iter().flat_map(|a| a.min_best.iter().chain(&a.max_best)).filter(|v| v.is_finite());
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
    let (lo, hi) = if lo < hi { (lo, hi) } else { (lo - 0.5, lo + 0.5) };
    let max_tokens = report.arms.iter().flat_map(|a| a.median_tokens.iter().copied()).fold(1.0, f64::max);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{HEIGHT}\" font-family=\"sans-serif\" font-size=\"11\">\n",
        2.0 * WIDTH
    );
    for (panel, (xlabel, xmax)) in
        [("iterations", report.iterations.max(1) as f64), ("tokens", max_tokens)].into_iter().enumerate()
    {
        let scale = Scale { x0: panel as f64 * WIDTH, xmax, lo, hi };
        let _ = writeln!(
            svg,
            "<rect x=\"{}\" y=\"{PAD}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{xlabel} (0 to {xmax:.0})</text>\
             <text x=\"{}\" y=\"{}\">best score {lo:.3} to {hi:.3}</text>",
            scale.x0 + PAD,
            WIDTH - 2.0 * PAD,
            HEIGHT - 2.0 * PAD,
            scale.x0 + WIDTH / 2.0,
            HEIGHT - 14.0,
            scale.x0 + PAD,
            PAD - 8.0
        );
        for (k, arm) in report.arms.iter().enumerate() {
            draw_arm(&mut svg, &scale, arm, COLOURS[k % COLOURS.len()], (panel == 0).then_some(k));
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// Where a panel lies and what its axes span.
struct Scale {
    x0: f64,
    xmax: f64,
    lo: f64,
    hi: f64,
}

impl Scale {
    fn point(&self, x: f64, y: f64) -> String {
        let px = self.x0 + PAD + x / self.xmax * (WIDTH - 2.0 * PAD);
        let py = HEIGHT - PAD - (y - self.lo) / (self.hi - self.lo) * (HEIGHT - 2.0 * PAD);
        format!("{px:.1},{py:.1} ")
    }
}

/// One arm's median line; on the iterations panel (`legend` is the arm's
/// index there) also its band and its name.
fn draw_arm(svg: &mut String, scale: &Scale, arm: &ArmReport, colour: &str, legend: Option<usize>) {
    let at = |i: usize| if legend.is_some() { i as f64 } else { arm.median_tokens[i] };
    let points = |v: &[f64], order: &mut dyn Iterator<Item = usize>| -> String {
        order.filter(|&i| v[i].is_finite()).map(|i| scale.point(at(i), v[i])).collect()
    };
    let n = arm.median_best.len();
    if let Some(k) = legend {
        let band = points(&arm.max_best, &mut (0..n)) + &points(&arm.min_best, &mut (0..n).rev());
        let _ = writeln!(
            svg,
            "<polygon points=\"{band}\" fill=\"{colour}\" fill-opacity=\"0.15\" stroke=\"none\"/>"
        );
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" fill=\"{colour}\">{}</text>",
            scale.x0 + PAD + 6.0,
            PAD + 14.0 + 14.0 * k as f64,
            arm.spec.arm
        );
    }
    let _ = writeln!(
        svg,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
        points(&arm.median_best, &mut (0..n))
    );
}
