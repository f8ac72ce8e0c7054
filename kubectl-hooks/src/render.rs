//! Text a user reads: kubectl-style tables and finding blocks.

use std::fmt;

use velero_hooks::Finding;

pub mod github;
pub mod sarif;

/// A kubectl-style table: upper-case headers, columns padded with three spaces.
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<const N: usize>(headers: [&str; N]) -> Self {
        Table {
            rows: vec![headers.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    pub fn row<const N: usize>(&mut self, cells: [String; N]) {
        self.rows
            .push(cells.iter().map(|c| printable(c).into_owned()).collect());
    }

    /// A table whose columns are chosen at run time (e.g. NAMESPACE only with -A).
    pub fn with_headers(headers: &[&str]) -> Self {
        Table {
            rows: vec![headers.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    pub fn push_row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in &self.rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<width$}   ", width = widths[c]));
                }
            }
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// `location: object: severity CODE: key-or-path: problem` and two indented lines.
pub fn finding_block(location: &str, object: &str, finding: &Finding) -> String {
    let prefix = if location.is_empty() {
        String::new()
    } else {
        format!("{}: ", printable(location))
    };
    format!(
        "{prefix}{}: {} {}: {}: {}\n    velero: {}\n    fix:    {}\n",
        printable(object),
        finding.severity.as_str(),
        finding.code,
        printable(finding.subject.text()),
        finding.problem,
        finding.velero_does,
        finding.fix
    )
}

/// `text` as it may be written to a terminal or a CI log: names and keys come from the
/// input, and a newline or an escape sequence in one would forge lines (a GitHub
/// `::error` command) or colours; control characters are written escaped (`\n`, `\u{1b}`).
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
