//! Misuse of the derives and the attribute fails to compile, with a message
//! pointing at the field or attribute at fault.

#[test]
fn misuse_fails_to_compile() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
