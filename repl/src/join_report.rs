//! The join pre-flight as the shell shows it: core's report drawn as a table as wide as
//! the terminal, its status column coloured.

use comfy_table::{Cell, Color, ContentArrangement, Table, presets};
use xenpool::pool::{CheckStatus, JoinReport, JoinSummary};

/// The report's brief for the shell: core's, with the text and coloured text as tables at
/// most `width` columns wide.
pub fn summary(report: &JoinReport, width: u16) -> JoinSummary {
    JoinSummary {
        text: table(report, false, width),
        coloured: table(report, true, width),
        ..JoinSummary::of(report)
    }
}

/// The headline, one row per check (status, check with its origin, xapi error and waiver,
/// both sides' evidence, remedy), then the CPU analysis.
pub fn table(report: &JoinReport, colour: bool, width: u16) -> String {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width)
        .set_header(["Status", "Check", "Candidate", "Pool", "Remedy"]);
    if colour {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    for check in &report.checks {
        let mut status = Cell::new(check.status.label());
        if colour {
            status = status.fg(match check.status {
                CheckStatus::Pass => Color::Green,
                CheckStatus::Fail => Color::Red,
                CheckStatus::Warn => Color::Yellow,
                CheckStatus::NotApplicable => Color::DarkGrey,
            });
        }
        let mut title = format!("{} [{}]", check.title, check.origin());
        if let Some(e) = &check.xapi_error {
            title.push_str(&format!("\n→ {e}"));
        }
        if let Some(note) = check.waiver_note() {
            title.push_str(&format!("\n({note})"));
        }
        table.add_row(vec![
            status,
            Cell::new(title),
            Cell::new(&check.evidence.candidate),
            Cell::new(&check.evidence.pool),
            Cell::new(check.remedy_if_needed()),
        ]);
    }
    format!("{}\n{table}\n{}\n", report.headline(), report.cpu_lines())
}
