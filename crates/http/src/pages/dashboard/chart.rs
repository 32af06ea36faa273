//! A key's daily usage as an inline SVG bar chart, rendered on the server (no script, no
//! library): one bar per day, verified uses stacked under denied ones, each bar with a
//! `<title>` (a tooltip, and what a screen reader reads), and the same numbers in a table
//! below for anyone who cannot see the chart.

use maud::{Markup, html};
use time::Date;

use keyward_domain::usage::UsageCounts;

/// The drawing's size in SVG units (it stretches to the page's width, so it holds no
/// text; the first and last day are written under it).
const WIDTH: u32 = 600;
const HEIGHT: u32 = 140;

/// The chart of `days` (oldest first), with its totals and a table of the numbers.
pub fn usage_chart(days: &[(Date, UsageCounts)]) -> Markup {
    let verified: u64 = days.iter().map(|(_, c)| c.verified).sum();
    let denied: u64 = days.iter().map(|(_, c)| c.denied).sum();
    let tallest = days
        .iter()
        .map(|(_, c)| c.verified.saturating_add(c.denied))
        .max()
        .unwrap_or(0)
        .max(1);
    let count = u32::try_from(days.len()).unwrap_or(u32::MAX).max(1);
    let slot = WIDTH / count;
    let bar_width = slot.saturating_sub(2).max(1);
    let plot = HEIGHT - 1;
    let summary = format!(
        "{verified} verified and {denied} denied uses in the last {} days",
        days.len()
    );
    html! {
        figure .usage-chart {
            svg #usage-chart viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img"
                aria-label=(summary) preserveAspectRatio="none" {
                title { (summary) }
                line x1="0" y1=(plot) x2=(WIDTH) y2=(plot) .axis {}
                @for (i, (day, counts)) in days.iter().enumerate() {
                    @let x = u32::try_from(i).unwrap_or(0) * slot + 1;
                    @let ok_height = scaled(counts.verified, tallest, plot);
                    @let denied_height = scaled(counts.denied, tallest, plot);
                    g .day {
                        title { (day) ": " (counts.verified) " verified, " (counts.denied) " denied" }
                        rect .verified x=(x) y=(plot - ok_height) width=(bar_width) height=(ok_height) {}
                        rect .denied x=(x) y=(plot - ok_height - denied_height) width=(bar_width) height=(denied_height) {}
                    }
                }
            }
            @if let (Some((first, _)), Some((last, _))) = (days.first(), days.last()) {
                div .chart-axis aria-hidden="true" { span { (first) } span { (last) } }
            }
            figcaption #usage-summary {
                span .legend-verified { "■" } " " (verified) " verified · "
                span .legend-denied { "■" } " " (denied) " denied"
            }
        }
        details {
            summary { "The numbers, day by day" }
            div .table-scroll {
                table #usage-table {
                    thead { tr { th scope="col" { "Day" } th scope="col" { "Verified" } th scope="col" { "Denied" } } }
                    tbody {
                        @for (day, counts) in days.iter().rev() {
                            tr { td { (day) } td .number { (counts.verified) } td .number { (counts.denied) } }
                        }
                    }
                }
            }
        }
    }
}

/// `value` of `tallest` as a height out of `room` units (a non-zero value is at least 1
/// unit, so a single use still shows).
fn scaled(value: u64, tallest: u64, room: u32) -> u32 {
    if value == 0 {
        return 0;
    }
    let height = u128::from(value) * u128::from(room) / u128::from(tallest);
    u32::try_from(height).unwrap_or(room).clamp(1, room)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn counts(verified: u64, denied: u64) -> UsageCounts {
        UsageCounts { verified, denied }
    }

    #[test]
    fn heights_scale_to_the_tallest_day_and_a_single_use_shows() {
        assert_eq!(scaled(0, 10, 140), 0);
        assert_eq!(scaled(10, 10, 140), 140);
        assert_eq!(scaled(5, 10, 140), 70);
        assert_eq!(scaled(1, 1_000_000, 140), 1);
        assert_eq!(scaled(u64::MAX, u64::MAX, 140), 140);
    }

    #[test]
    fn the_chart_names_its_totals_and_every_day() {
        let days = [
            (date!(2026 - 12 - 06), counts(3, 1)),
            (date!(2026 - 12 - 07), counts(0, 0)),
        ];

        let svg = usage_chart(&days).into_string();

        assert!(
            svg.contains("3 verified and 1 denied uses in the last 2 days"),
            "{svg}"
        );
        assert!(svg.contains("2026-12-06: 3 verified, 1 denied"));
        assert!(svg.contains("2026-12-07: 0 verified, 0 denied"));
        assert_eq!(svg.matches("<g class=\"day\">").count(), 2);
    }
}
