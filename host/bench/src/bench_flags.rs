//! The flags of the benchmark subcommands: `--name VALUE` pairs, switches without a value, and
//! `--help`; each value read as what its flag needs, with an error naming the flag.

use std::path::PathBuf;

use anyhow::{Context, bail};

/// One flag from the command line, with its value unless it is a switch.
pub struct Flag {
    name: String,
    value: Option<String>,
}

impl Flag {
    pub fn name(&self) -> &str {
        &self.name
    }

    fn value(&self) -> anyhow::Result<&str> {
        self.value
            .as_deref()
            .with_context(|| format!("{} needs a value", self.name))
    }

    pub fn text(&self) -> anyhow::Result<String> {
        self.value().map(str::to_owned)
    }

    pub fn path(&self) -> anyhow::Result<PathBuf> {
        self.value().map(PathBuf::from)
    }

    /// A count, 0 included.
    pub fn count(&self) -> anyhow::Result<usize> {
        let value = self.value()?;
        value
            .parse()
            .with_context(|| format!("{}: {value:?} is not a count", self.name))
    }

    /// A count of at least 1.
    pub fn positive(&self) -> anyhow::Result<usize> {
        match self.count()? {
            0 => bail!("{} must be at least 1", self.name),
            n => Ok(n),
        }
    }
}

/// Walks `args`, handing each flag to `apply`: `--help` (or `-h`) prints `help` and exits, a
/// name in `switches` takes no value, every other flag takes the argument after it.
pub fn parse(
    args: impl IntoIterator<Item = String>,
    help: &str,
    switches: &[&str],
    mut apply: impl FnMut(&Flag) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut args = args.into_iter();
    while let Some(name) = args.next() {
        if name == "--help" || name == "-h" {
            print!("{help}");
            std::process::exit(0);
        }
        let value = if switches.contains(&name.as_str()) {
            None
        } else {
            Some(
                args.next()
                    .with_context(|| format!("{name} needs a value"))?,
            )
        };
        apply(&Flag { name, value })?;
    }
    Ok(())
}

/// The scale factor of a tpch schema name: `tiny` is 0.01, `sfN` is N.
pub fn tpch_scale(schema: &str) -> anyhow::Result<f64> {
    if schema == "tiny" {
        return Ok(0.01);
    }
    schema
        .strip_prefix("sf")
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("schema {schema:?}: expected tiny or sfN"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn values_switches_and_errors_name_the_flag() {
        let mut seen = Vec::new();
        parse(
            args(&["--rounds", "3", "--keep", "--schema", "sf1"]),
            "",
            &["--keep"],
            |f| {
                seen.push((f.name().to_owned(), f.value.clone()));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[1], ("--keep".to_owned(), None));

        let err = parse(args(&["--rounds"]), "", &[], |_| Ok(())).unwrap_err();
        assert_eq!(err.to_string(), "--rounds needs a value");
        let err = parse(args(&["--rounds", "x"]), "", &[], |f| f.count().map(drop)).unwrap_err();
        assert!(err.to_string().contains("--rounds: \"x\""), "{err}");
        let err = parse(args(&["--rounds", "0"]), "", &[], |f| {
            f.positive().map(drop)
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "--rounds must be at least 1");
    }

    #[test]
    fn tpch_schemas_have_scales() {
        assert_eq!(tpch_scale("tiny").unwrap(), 0.01);
        assert_eq!(tpch_scale("sf10").unwrap(), 10.0);
        assert!(tpch_scale("big").is_err());
    }
}
