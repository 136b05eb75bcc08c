//! How the share of JIT-only resources moved, one bar a day, drawn as SVG.

use leptos::prelude::*;
use stint_core::standing::{CoveragePoint, share_percent};

const WIDTH: f64 = 300.0;
const HEIGHT: f64 = 60.0;

#[component]
pub fn CoverageChart(history: Vec<CoveragePoint>) -> impl IntoView {
    // A day before Stint knew any resource has no share: it gets no bar, not a "100 %".
    let shares: Vec<Option<u32>> = history
        .iter()
        .map(|p| (p.resources > 0).then(|| share_percent(p.jit_only, p.resources)))
        .collect();
    let known: Vec<(&CoveragePoint, u32)> = history
        .iter()
        .zip(&shares)
        .filter_map(|(p, s)| s.map(|s| (p, s)))
        .collect();
    let summary = match (known.first(), known.last()) {
        (Some((since, first)), Some((_, last))) if known.len() > 1 => format!(
            "JIT-only share since {}: {first}% then, {last}% now",
            crate::time::day(since.at)
        ),
        (Some((_, now)), _) => format!("JIT-only share: {now}% now; the trend starts tomorrow"),
        _ => "No resource yet".to_string(),
    };
    let step = WIDTH / history.len().max(1) as f64;
    view! {
        <figure class="chart" data-testid="coverage-chart">
            <svg
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                preserveAspectRatio="none"
                role="img"
                aria-label=summary.clone()
            >
                {history
                    .into_iter()
                    .zip(shares)
                    .enumerate()
                    .filter_map(|(i, (point, share))| share.map(|share| (i, point, share)))
                    .map(|(i, point, share)| {
                        let height = (HEIGHT * f64::from(share) / 100.0).max(1.0);
                        let day = crate::time::day(point.at);
                        view! {
                            <rect
                                class=if share == 100 { "bar full" } else { "bar" }
                                x=format!("{:.1}", i as f64 * step + 1.0)
                                y=format!("{:.1}", HEIGHT - height)
                                width=format!("{:.1}", (step - 2.0).max(1.0))
                                height=format!("{height:.1}")
                            >
                                <title>{format!("{day}: {share}% ({} of {} JIT only)", point.jit_only, point.resources)}</title>
                            </rect>
                        }
                    })
                    .collect_view()}
            </svg>
            <figcaption class="muted small">{summary}</figcaption>
        </figure>
    }
}
