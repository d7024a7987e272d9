//! Reading a credential configuration's settings: the checks every format
//! plugin makes, with the same error messages in every plugin.

use serde_json::{Map, Value};

use super::{ClaimEntry, Configuration, FormatError};

/// `None` for an absent or `null` member.
pub(super) fn member<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).filter(|v| !v.is_null())
}

fn invalid(message: String) -> FormatError {
    FormatError::InvalidConfiguration(message)
}

/// Typed getters for the settings of one credential configuration, for one
/// format plugin.
///
/// A setting that is `null` counts as absent. Every error is
/// [`FormatError::InvalidConfiguration`] naming the setting and the
/// configuration, e.g. ``"`vct` of 'badge' must be a non-empty string"``.
///
/// ```ignore
/// let s = SettingsReader::new(configuration, "dc+sd-jwt")?;
/// let vct = s.required_string("vct", "")?;
/// let algorithms = s.signing_algorithms(|_| true, "must hold JOSE algorithm names")?;
/// let display = s.array("display")?;
/// let claims = s.claims(|entry| Ok(entry.path().to_vec()), |path| path)?;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SettingsReader<'a> {
    id: &'a str,
    format: &'a str,
    /// `""` for the configuration itself, `"format_options."` for its options.
    prefix: &'static str,
    /// `None` for an absent `format_options`.
    settings: Option<&'a Map<String, Value>>,
}

impl<'a> SettingsReader<'a> {
    /// Reads `configuration` for the plugin that issues `format`. Refuses a
    /// configuration of another format and settings that are not a JSON
    /// object.
    pub fn new(configuration: &'a Configuration, format: &'a str) -> Result<Self, FormatError> {
        let id = configuration.id.as_str();
        if configuration.format != format {
            return Err(invalid(format!(
                "`format` of '{id}' is '{}'; this plugin issues '{format}'",
                configuration.format
            )));
        }
        let settings = configuration
            .settings
            .as_object()
            .ok_or_else(|| invalid(format!("the settings of '{id}' must be a JSON object")))?;
        Ok(Self {
            id,
            format,
            prefix: "",
            settings: Some(settings),
        })
    }

    /// Id of the configuration.
    pub fn id(&self) -> &'a str {
        self.id
    }

    /// The setting `name`; `None` when it is absent or `null`.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.settings.and_then(|s| member(s, name))
    }

    /// How errors name the setting: ``"`name` of 'id'"``.
    pub fn name(&self, name: &str) -> String {
        format!("`{}{name}` of '{}'", self.prefix, self.id)
    }

    /// An `InvalidConfiguration` error: ``"`name` of 'id' {problem}"``.
    pub fn invalid(&self, name: &str, problem: &str) -> FormatError {
        invalid(format!("{} {problem}", self.name(name)))
    }

    /// The error for a missing required setting:
    /// ``"`name` is required for 'id' (format f){detail}"``.
    pub fn missing(&self, name: &str, detail: &str) -> FormatError {
        invalid(format!(
            "`{}{name}` is required for '{}' (format {}){detail}",
            self.prefix, self.id, self.format
        ))
    }

    /// An optional non-empty string.
    pub fn string(&self, name: &str) -> Result<Option<String>, FormatError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(v)) if !v.is_empty() => Ok(Some(v.clone())),
            Some(_) => Err(self.invalid(name, "must be a non-empty string")),
        }
    }

    /// A required non-empty string; `detail` ends the message when it is
    /// missing (see [`missing`](Self::missing)).
    pub fn required_string(&self, name: &str, detail: &str) -> Result<String, FormatError> {
        self.string(name)?.ok_or_else(|| self.missing(name, detail))
    }

    /// An optional array.
    pub fn array(&self, name: &str) -> Result<Option<&'a [Value]>, FormatError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(list)) => Ok(Some(list)),
            Some(_) => Err(self.invalid(name, "must be an array")),
        }
    }

    /// An optional object.
    pub fn object(&self, name: &str) -> Result<Option<&'a Map<String, Value>>, FormatError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o)),
            Some(_) => Err(self.invalid(name, "must be an object")),
        }
    }

    /// `format_options`, an optional object whose members must be among
    /// `allowed`. The returned reader names its settings
    /// `format_options.<name>`; it is empty when `format_options` is absent.
    pub fn format_options(&self, allowed: &[&str]) -> Result<Self, FormatError> {
        let options = Self {
            prefix: "format_options.",
            settings: self.object("format_options")?,
            ..*self
        };
        if let Some(key) = options
            .settings
            .into_iter()
            .flat_map(Map::keys)
            .find(|k| !allowed.contains(&k.as_str()))
        {
            return Err(options.invalid(
                key,
                &format!(
                    "is not an option of {} ({})",
                    self.format,
                    allowed.join(", ")
                ),
            ));
        }
        Ok(options)
    }

    /// `signing_algorithms`: a non-empty array of algorithm names, each
    /// non-empty, not `none` and `accept`ed (default `["ES256"]`).
    /// `expected` completes the error for a refused name, e.g.
    /// `"must hold JOSE algorithm names"`.
    pub fn signing_algorithms(
        &self,
        accept: impl Fn(&str) -> bool,
        expected: &str,
    ) -> Result<Vec<String>, FormatError> {
        const NAME: &str = "signing_algorithms";
        match self.get(NAME) {
            None => Ok(vec!["ES256".to_owned()]),
            Some(Value::Array(list)) if !list.is_empty() => list
                .iter()
                .map(|v| match v.as_str() {
                    Some(a) if !a.is_empty() && a != "none" && accept(a) => Ok(a.to_owned()),
                    _ => Err(self.invalid(NAME, expected)),
                })
                .collect(),
            Some(_) => Err(self.invalid(NAME, "must be a non-empty array")),
        }
    }

    /// The `claims` array (optional): each entry read as a [`ClaimEntry`] and
    /// turned into the plugin's own type by `parse`; `path` gives the parsed
    /// entry's path (after any normalisation by `parse`), and a path given
    /// twice is refused.
    pub fn claims<T>(
        &self,
        mut parse: impl FnMut(ClaimEntry<'a>) -> Result<T, FormatError>,
        path: impl Fn(&T) -> &[Value],
    ) -> Result<Vec<T>, FormatError> {
        let claims = self
            .array("claims")?
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, v)| parse(ClaimEntry::parse(self.id, i, v)?))
            .collect::<Result<Vec<_>, _>>()?;
        for (j, b) in claims.iter().enumerate() {
            if let Some(i) = claims[..j].iter().position(|a| path(a) == path(b)) {
                return Err(self.invalid(
                    &format!("claims[{j}].path"),
                    &format!("repeats `claims[{i}].path`"),
                ));
            }
        }
        Ok(claims)
    }
}

/// Refuses to issue with a key whose (JOSE) algorithm is not among the
/// configuration's `signing_algorithms`.
pub fn check_key_algorithm(
    configuration_id: &str,
    algorithms: &[String],
    key_algorithm: &str,
) -> Result<(), FormatError> {
    if algorithms.iter().any(|a| a == key_algorithm) {
        return Ok(());
    }
    Err(invalid(format!(
        "`signing_algorithms` of '{configuration_id}' ({}) does not include {key_algorithm}, \
         the algorithm of the issuer key",
        algorithms.join(", ")
    )))
}
