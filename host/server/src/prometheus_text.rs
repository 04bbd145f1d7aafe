//! [`PrometheusText`]: the Prometheus text exposition format (version 0.0.4), the one writer
//! of both processes' `/metrics`. A family is its `# HELP` and `# TYPE` lines followed by its
//! samples; label values and help texts are escaped as the format requires (ADR 0026).

use std::fmt::Write as _;

/// The `Content-Type` of a `/metrics` answer.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a family counts: a value that only goes up, or one that goes up and down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

impl Kind {
    /// The word on the `# TYPE` line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

/// A sample's value, written as the format wants it: integers as they are, floats in their
/// shortest form (`1.25`, `3`), and `+Inf`, `-Inf`, `NaN` for the rest.
pub trait SampleValue {
    /// Appends the value to `out`.
    fn write_to(&self, out: &mut String);
}

macro_rules! integer_sample_value {
    ($($type:ty),*) => {
        $(impl SampleValue for $type {
            fn write_to(&self, out: &mut String) {
                let _ = write!(out, "{self}");
            }
        })*
    };
}

integer_sample_value!(u8, u32, u64, usize, i64);

impl SampleValue for f64 {
    fn write_to(&self, out: &mut String) {
        if self.is_nan() {
            out.push_str("NaN");
        } else if self.is_infinite() {
            out.push_str(if *self > 0.0 { "+Inf" } else { "-Inf" });
        } else {
            let _ = write!(out, "{self}");
        }
    }
}

/// The text of one scrape, built family by family.
#[derive(Debug, Default)]
pub struct PrometheusText {
    out: String,
}

impl PrometheusText {
    pub fn new() -> PrometheusText {
        PrometheusText::default()
    }

    /// Starts family `name`: writes its `# HELP` and `# TYPE` lines; its samples follow with
    /// [`Family::sample`].
    pub fn family<'a>(&'a mut self, name: &'a str, help: &str, kind: Kind) -> Family<'a> {
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        escape_into(&mut self.out, help, false);
        self.out.push_str("\n# TYPE ");
        self.out.push_str(name);
        self.out.push(' ');
        self.out.push_str(kind.as_str());
        self.out.push('\n');
        Family {
            out: &mut self.out,
            name,
        }
    }

    /// The text written so far.
    pub fn finish(self) -> String {
        self.out
    }
}

/// The family being written; its samples carry its name.
#[derive(Debug)]
pub struct Family<'a> {
    out: &'a mut String,
    name: &'a str,
}

impl Family<'_> {
    /// Writes `name{label="value",…} value` (no braces without labels). Label names are the
    /// caller's constants; label values are escaped.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: impl SampleValue) -> &mut Self {
        self.out.push_str(self.name);
        if !labels.is_empty() {
            self.out.push('{');
            for (index, (label, label_value)) in labels.iter().enumerate() {
                if index > 0 {
                    self.out.push(',');
                }
                self.out.push_str(label);
                self.out.push_str("=\"");
                escape_into(self.out, label_value, true);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        value.write_to(self.out);
        self.out.push('\n');
        self
    }
}

/// Appends `text` with backslash and newline escaped (and, in a label value, the double quote).
fn escape_into(out: &mut String, text: &str, label_value: bool) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if label_value => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_families_with_and_without_labels() {
        let mut text = PrometheusText::new();
        text.family("up", "Whether it answered.", Kind::Gauge)
            .sample(&[], 1u8);
        text.family("requests_total", "Requests by route.", Kind::Counter)
            .sample(&[("route", "/a"), ("status", "200")], 3u64)
            .sample(&[("route", "/b"), ("status", "404")], 0u64);
        assert_eq!(
            text.finish(),
            "# HELP up Whether it answered.\n\
             # TYPE up gauge\n\
             up 1\n\
             # HELP requests_total Requests by route.\n\
             # TYPE requests_total counter\n\
             requests_total{route=\"/a\",status=\"200\"} 3\n\
             requests_total{route=\"/b\",status=\"404\"} 0\n"
        );
    }

    #[test]
    fn escapes_label_values_and_help() {
        let mut text = PrometheusText::new();
        text.family("x", "a \\ b\nc \"quoted\"", Kind::Counter)
            .sample(&[("path", "C:\\dir\n\"q\"")], 1u64);
        assert_eq!(
            text.finish(),
            "# HELP x a \\\\ b\\nc \"quoted\"\n\
             # TYPE x counter\n\
             x{path=\"C:\\\\dir\\n\\\"q\\\"\"} 1\n"
        );
    }

    #[test]
    fn writes_floats_shortest_and_non_finite_as_the_format_spells_them() {
        let mut text = PrometheusText::new();
        text.family("f", "Floats.", Kind::Gauge)
            .sample(&[("v", "a")], 1.25f64)
            .sample(&[("v", "b")], 3.0f64)
            .sample(&[("v", "c")], f64::INFINITY)
            .sample(&[("v", "d")], f64::NEG_INFINITY)
            .sample(&[("v", "e")], f64::NAN);
        let text = text.finish();
        let values: Vec<&str> = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.rsplit(' ').next())
            .collect();
        assert_eq!(values, ["1.25", "3", "+Inf", "-Inf", "NaN"]);
    }
}
