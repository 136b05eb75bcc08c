//! How the share of JIT-only resources moved, one bar a day, drawn as SVG.

use leptos::prelude::*;
use stint_core::standing::{CoveragePoint, share_percent};

const WIDTH: f64 = 300.0;
const HEIGHT: f64 = 60.0;

#[component]
pub fn CoverageChart(history: Vec<CoveragePoint>) -> impl IntoView {
    let shares: Vec<u32> = history
        .iter()
        .map(|p| share_percent(p.jit_only, p.resources))
        .collect();
    let (first, last) = (
        shares.first().copied().unwrap_or(100),
        shares.last().copied().unwrap_or(100),
    );
    let summary = format!(
        "JIT-only share over the last {} days: {first}% then, {last}% now",
        shares.len()
    );
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
                    .map(|(i, (point, share))| {
                        let height = (HEIGHT * f64::from(share) / 100.0).max(1.0);
                        let day = point.at.with_timezone(&chrono::Local).format("%Y-%m-%d");
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
