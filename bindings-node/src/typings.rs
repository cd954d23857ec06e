#[napi]
pub fn typings() -> String {
    String::new()
}
