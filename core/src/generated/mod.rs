// PLACEHOLDER until `cargo xtask codegen` writes this folder.
/// Placeholder error code type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// x
    SessionInvalid,
    /// x
    HostIsSlave,
    /// Any code.
    Unknown(String),
}
impl ErrorCode {
    /// Parse.
    pub fn from_wire(s: &str) -> Self { ErrorCode::Unknown(s.to_string()) }
    /// Wire.
    pub fn wire(&self) -> &str { match self { ErrorCode::Unknown(s) => s, _ => "" } }
    /// Names.
    pub fn param_names(&self) -> &'static [&'static str] { &[] }
}
