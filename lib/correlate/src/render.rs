//! One line per finding, for a model and an SRE.

use chrono::{DateTime, Timelike, Utc};

use crate::rank::{Finding, Ranking, SeriesFacts, Status, Strength};

impl Ranking {
    /// A line for the symptom, then one per finding in rank order.
    pub fn lines(&self, symptom_name: &str) -> Vec<String> {
        let mut out = vec![symptom_line(symptom_name, self)];
        out.extend(self.findings.iter().map(|f| f.line(symptom_name)));
        out
    }
}

fn symptom_line(name: &str, r: &Ranking) -> String {
    let mut s = format!(
        "symptom {name}: {} of {} points at {} steps",
        r.symptom.points,
        r.grid.len,
        duration(r.grid.step_seconds as i64)
    );
    if r.symptom_flat {
        s.push_str("; flat over the window, so nothing can correlate with it");
    }
    push_facts(&mut s, &r.symptom);
    s
}

impl Finding {
    /// E.g. "DatabaseConnections led HTTPCode_Target_5XX by 5 min, r=0.93
    /// (r=0.41 at lag 0); first anomalous at 20:14, 4 min before the
    /// symptom; mean 20 → 98 at 20:13".
    pub fn line(&self, symptom_name: &str) -> String {
        let name = &self.name;
        let mut s = match (self.status, self.best_lag) {
            (Status::Ok, Some(lag)) if self.strength == Strength::Weak => {
                let at = match lag.steps {
                    0 => "at lag 0".to_owned(),
                    n if n < 0 => format!("with it {} ahead", duration(-lag.seconds)),
                    _ => format!("with it {} behind", duration(lag.seconds)),
                };
                format!(
                    "{name}: weak correlation with {symptom_name} (best r={:.2}, {at})",
                    lag.r
                )
            }
            (Status::Ok, Some(lag)) => {
                let rel = match lag.steps {
                    0 => format!("moved with {symptom_name} (no lead)"),
                    n if n < 0 => format!("led {symptom_name} by {}", duration(-lag.seconds)),
                    _ => format!(
                        "lagged {symptom_name} by {} (moved after it)",
                        duration(lag.seconds)
                    ),
                };
                let zero = self
                    .r_at_zero
                    .map_or(String::new(), |r| format!(" (r={r:.2} at lag 0)"));
                let opposite = if lag.r < 0.0 { ", moving opposite" } else { "" };
                format!("{name} {rel}, r={:.2}{zero}{opposite}", lag.r)
            }
            (Status::Flat, _) => format!("{name} is flat over the window: no correlation"),
            (Status::SymptomFlat, _) => format!("{name}: not correlated, the symptom is flat"),
            (Status::NoData, _) => format!("{name}: no datapoints in the window"),
            _ => format!("{name}: too few points overlap {symptom_name} to correlate"),
        };
        push_facts(&mut s, &self.facts);
        if let (Some(lead), Some(_)) = (self.anomaly_lead_seconds, self.facts.first_anomaly) {
            s.push_str(&match lead {
                0 => ", with the symptom's".to_owned(),
                l if l > 0 => format!(", {} before the symptom's", duration(l)),
                l => format!(", {} after the symptom's", duration(-l)),
            });
        }
        s
    }
}

fn push_facts(s: &mut String, facts: &SeriesFacts) {
    if let Some(c) = facts.change_points.first() {
        s.push_str(&format!(
            "; mean {} → {} at {}",
            number(c.change.before),
            number(c.change.after),
            clock(c.at)
        ));
        if facts.change_points.len() > 1 {
            s.push_str(&format!(
                " (+{} more changes)",
                facts.change_points.len() - 1
            ));
        }
    }
    if let Some(a) = facts.first_anomaly {
        s.push_str(&format!(
            "; first anomalous at {} ({})",
            clock(a.at),
            number(a.anomaly.value)
        ));
    }
}

/// "20:14" or "20:14:05" (UTC).
pub(crate) fn clock(t: DateTime<Utc>) -> String {
    if t.second() == 0 {
        t.format("%H:%M").to_string()
    } else {
        t.format("%H:%M:%S").to_string()
    }
}

/// "45 s", "5 min", "1 h 30 min".
pub(crate) fn duration(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(format!("{h} h"));
    }
    if m > 0 {
        parts.push(format!("{m} min"));
    }
    if s > 0 || parts.is_empty() {
        parts.push(format!("{s} s"));
    }
    parts.join(" ")
}

/// A value rounded for reading: no decimals from 100, one from 10, else three; no trailing
/// zeros.
fn number(v: f64) -> String {
    let s = match v.abs() {
        a if a >= 100.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        _ => format!("{v:.3}"),
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_numbers_read_naturally() {
        assert_eq!(duration(300), "5 min");
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(5400), "1 h 30 min");
        assert_eq!(number(20.0), "20");
        assert_eq!(number(0.125), "0.125");
        assert_eq!(number(1234.56), "1235");
        assert_eq!(number(28.538), "28.5");
    }
}
