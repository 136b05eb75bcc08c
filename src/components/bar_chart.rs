//! A report's bar chart drawn as SVG, its figures also in a visually hidden table so a
//! screen reader reads numbers, not shapes.

use leptos::prelude::*;
use stint_core::evidence::{Chart, Unit};

const WIDTH: f64 = 300.0;
const HEIGHT: f64 = 60.0;

#[component]
pub fn BarChart(chart: Chart) -> impl IntoView {
    let top = chart.top() as f64;
    let step = WIDTH / chart.bars.len().max(1) as f64;
    let unit = if chart.unit == Unit::Percent {
        " %"
    } else {
        ""
    };
    let caption = chart.caption.clone();
    view! {
        <figure class="chart report-chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="none" aria-hidden="true">
                {chart
                    .bars
                    .iter()
                    .enumerate()
                    .map(|(i, bar)| {
                        let height = (HEIGHT * bar.value as f64 / top).max(0.5);
                        view! {
                            <rect
                                class="bar neutral"
                                x=format!("{:.1}", i as f64 * step + 1.0)
                                y=format!("{:.1}", HEIGHT - height)
                                width=format!("{:.1}", (step - 2.0).max(0.5))
                                height=format!("{height:.1}")
                            >
                                <title>{format!("{}: {}{unit}", bar.label, bar.value)}</title>
                            </rect>
                        }
                    })
                    .collect_view()}
            </svg>
            <figcaption class="muted small">{caption.clone()}</figcaption>
            <table class="visually-hidden">
                <caption>{caption}</caption>
                <tbody>
                    {chart
                        .bars
                        .into_iter()
                        .map(|bar| view! { <tr><th scope="row">{bar.label}</th><td>{format!("{}{unit}", bar.value)}</td></tr> })
                        .collect_view()}
                </tbody>
            </table>
        </figure>
    }
}
