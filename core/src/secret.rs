//! Credentials whose password never shows up in Debug, Display, logs or errors.

use std::fmt;

/// A password. Its `Debug` and `Display` print a fixed mask; read it with
/// [`Secret::expose`] only where it goes on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The password itself, for the login call.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(********)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret::new(s)
    }
}

/// A user name and password for `session.login_with_password`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Credentials {
    /// The user, usually `root`.
    pub username: String,
    /// The password (masked in Debug output).
    pub password: Secret,
}

impl Credentials {
    /// Builds credentials.
    pub fn new(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Credentials {
            username: username.into(),
            password: password.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_masked_everywhere() {
        let c = Credentials::new("root", "hunter2-very-secret");
        for text in [
            format!("{c:?}"),
            format!("{:?}", c.password),
            format!("{}", c.password),
        ] {
            assert!(!text.contains("hunter2"), "{text}");
        }
        assert_eq!(c.password.expose(), "hunter2-very-secret");
    }
}
