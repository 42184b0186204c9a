//! Field paths in upstream's notation: `spec.containers[0].ports[1].name`,
//! map keys as `metadata.annotations[my-key]` (no quotes, like `field.Path`).

use std::fmt;

/// An immutable field path; children are built by cloning, which keeps call
/// sites as terse as upstream's `fldPath.Child("x").Index(i)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path(String);

impl Path {
    /// A root path with one segment, e.g. `Path::new("spec")`.
    pub fn new(root: &str) -> Self {
        Path(root.to_owned())
    }

    /// The empty path, used by upstream for errors about the whole object.
    pub fn root() -> Self {
        Path(String::new())
    }

    /// `self.name` (dot-separated; `name` may itself contain dots).
    pub fn child(&self, name: &str) -> Self {
        if self.0.is_empty() { Path(name.to_owned()) } else { Path(format!("{}.{name}", self.0)) }
    }

    /// `self[i]`.
    pub fn index(&self, i: usize) -> Self {
        Path(format!("{}[{i}]", self.0))
    }

    /// `self[key]`.
    pub fn key(&self, key: &str) -> Self {
        Path(format!("{}[{key}]", self.0))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
