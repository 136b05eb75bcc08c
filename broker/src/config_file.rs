//! `stint serve --config stint.toml`: any of `serve`'s flags from a TOML file, one key per
//! flag (`public_url = "https://stint.example.com"`, `demo = true`; `_` and `-` alike).
//! A flag on the command line, or its `STINT_*` variable, wins over the file. The file's
//! keys become flags given before the command line's, so one parser checks every value;
//! a key no flag has, or a value the flag refuses, stops the start naming the key.

use clap::{ArgAction, Command};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// What went wrong with a configuration file, naming it and the key.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigFileError {
    pub file: String,
    pub message: String,
}

/// What a file gives `serve`.
#[derive(Debug, Default)]
pub struct FileFlags {
    /// Arguments to put before the command line's, each with the key it came from.
    pub flags: Vec<(String, OsString)>,
    /// Keys left out because the command line or a variable gives them: (key, what).
    pub shadowed: Vec<(String, String)>,
}

/// The flags the file at `path` gives `serve` (described by `serve`), leaving out those
/// given on the command line (`given`) or by a set variable (`env_set`).
pub fn flags_from_file(
    path: &Path,
    serve: &Command,
    given: &[OsString],
    env_set: &dyn Fn(&str) -> bool,
) -> Result<FileFlags, ConfigFileError> {
    let fail = |message: String| ConfigFileError {
        file: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
    let known: Vec<&clap::Arg> = serve
        .get_arguments()
        .filter(|a| a.get_long().is_some_and(|l| l != "config" && l != "help"))
        .collect();
    let mut out = FileFlags::default();
    for (key, value) in &table {
        let long = key.replace('_', "-");
        let Some(arg) = known.iter().find(|a| a.get_long() == Some(long.as_str())) else {
            let names: Vec<String> = known
                .iter()
                .filter_map(|a| a.get_long())
                .map(|l| l.replace('-', "_"))
                .collect();
            return Err(fail(format!(
                "unknown key `{key}` (the keys are serve's flags: {})",
                names.join(", ")
            )));
        };
        let on_command_line = given.iter().any(|a| {
            a.to_str()
                .is_some_and(|a| a == format!("--{long}") || a.starts_with(&format!("--{long}=")))
        });
        let variable = arg
            .get_env()
            .and_then(|v| v.to_str())
            .filter(|v| env_set(v));
        if on_command_line {
            out.shadowed.push((key.clone(), format!("--{long}")));
            continue;
        }
        if let Some(variable) = variable {
            out.shadowed.push((key.clone(), format!("${variable}")));
            continue;
        }
        let flag = match (arg.get_action(), value) {
            (ArgAction::SetTrue, toml::Value::Boolean(true)) => Some(format!("--{long}")),
            (ArgAction::SetTrue, toml::Value::Boolean(false)) => None,
            (ArgAction::SetTrue, _) => {
                return Err(fail(format!("`{key}` is true or false")));
            }
            (_, toml::Value::String(s)) => Some(format!("--{long}={s}")),
            (_, toml::Value::Integer(n)) => Some(format!("--{long}={n}")),
            (_, toml::Value::Float(x)) => Some(format!("--{long}={x}")),
            (_, _) => {
                return Err(fail(format!("`{key}` takes a string or a number")));
            }
        };
        if let Some(flag) = flag {
            out.flags.push((key.clone(), OsString::from(flag)));
        }
    }
    Ok(out)
}

/// The file `--config FILE` (or `--config=FILE`) names among `args`, else `STINT_CONFIG`.
pub fn config_path(args: &[OsString], variable: Option<OsString>) -> Option<PathBuf> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let Some(text) = arg.to_str() else { continue };
        if text == "--config" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    variable.map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Arg;

    fn serve() -> Command {
        Command::new("serve")
            .arg(Arg::new("listen").long("listen").env("STINT_LISTEN"))
            .arg(Arg::new("public-url").long("public-url"))
            .arg(Arg::new("demo").long("demo").action(ArgAction::SetTrue))
            .arg(Arg::new("config").long("config"))
    }

    fn flags(text: &str, given: &[&str], env: &[&str]) -> Result<Vec<String>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stint.toml");
        std::fs::write(&path, text).unwrap();
        let given: Vec<OsString> = given.iter().map(OsString::from).collect();
        flags_from_file(&path, &serve(), &given, &|v| env.contains(&v))
            .map(|f| {
                f.flags
                    .into_iter()
                    .map(|(_, a)| a.into_string().unwrap())
                    .collect()
            })
            .map_err(|e| e.message)
    }

    #[test]
    fn keys_become_flags_unless_the_command_line_or_a_variable_gives_them() {
        let text = "listen = \"0.0.0.0:80\"\npublic_url = \"https://s.example\"\ndemo = true\n";
        assert_eq!(
            flags(text, &[], &[]).unwrap(),
            [
                "--demo",
                "--listen=0.0.0.0:80",
                "--public-url=https://s.example"
            ],
            "in the keys' order"
        );
        assert_eq!(
            flags(text, &["--public-url=https://other"], &["STINT_LISTEN"]).unwrap(),
            ["--demo"]
        );
        assert_eq!(
            flags("demo = false\n", &[], &[]).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_key_no_flag_has_or_a_value_of_the_wrong_kind_is_named() {
        let unknown = flags("lisen = \"x\"\n", &[], &[]).unwrap_err();
        assert!(unknown.contains("unknown key `lisen`"), "{unknown}");
        assert!(unknown.contains("listen, public_url, demo"), "{unknown}");
        assert!(
            flags("demo = \"yes\"\n", &[], &[])
                .unwrap_err()
                .contains("`demo`")
        );
        assert!(
            flags("listen = [1]\n", &[], &[])
                .unwrap_err()
                .contains("`listen`")
        );
        assert!(
            flags("config = \"x\"\n", &[], &[]).is_err(),
            "no file names another"
        );
        assert!(flags("listen = \n", &[], &[]).is_err());
    }

    #[test]
    fn the_file_is_named_by_the_flag_or_the_variable() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            config_path(&args(&["stint", "serve", "--config", "a.toml"]), None),
            Some(PathBuf::from("a.toml"))
        );
        assert_eq!(
            config_path(
                &args(&["stint", "serve", "--config=b.toml"]),
                Some("c".into())
            ),
            Some(PathBuf::from("b.toml"))
        );
        assert_eq!(
            config_path(&args(&["stint", "serve"]), Some("c.toml".into())),
            Some(PathBuf::from("c.toml"))
        );
    }
}
