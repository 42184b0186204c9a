//! The column definitions of a Table response.

use crate::descriptions::{META_CREATION_TIMESTAMP, META_NAME};

/// One entry of a Table's `columnDefinitions`.
///
/// `priority` 0 columns are always shown; kubectl shows priority 1 columns only with `-o wide`.
/// The server always sends every column (upstream builds tables with `Wide: true`), so a row has
/// one cell per column regardless of priority.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    /// OpenAPI type of the cells: `"string"`, `"integer"`, `"boolean"`, `"date"`.
    pub type_: &'static str,
    /// `"name"` marks the column holding the object's name; otherwise empty.
    pub format: &'static str,
    pub description: &'static str,
    pub priority: i32,
}

impl Column {
    /// A priority 0 `"string"` column.
    pub(crate) const fn string(name: &'static str, description: &'static str) -> Self {
        Column { name, type_: "string", format: "", description, priority: 0 }
    }

    /// A priority 0 `"integer"` column.
    pub(crate) const fn integer(name: &'static str, description: &'static str) -> Self {
        Column { type_: "integer", ..Column::string(name, description) }
    }

    /// A priority 0 `"boolean"` column.
    pub(crate) const fn boolean(name: &'static str, description: &'static str) -> Self {
        Column { type_: "boolean", ..Column::string(name, description) }
    }

    /// The same column, shown only with `-o wide`.
    pub(crate) const fn wide(self) -> Self {
        Column { priority: 1, ..self }
    }

    /// The same column, marked as the one holding the object's name.
    pub(crate) const fn named(self) -> Self {
        Column { format: "name", ..self }
    }
}

/// The NAME column every upstream printer starts with.
pub(crate) const NAME: Column = Column::string("Name", META_NAME).named();

/// The AGE column, from `metadata.creationTimestamp`.
pub(crate) const AGE: Column = Column::string("Age", META_CREATION_TIMESTAMP);

pub(crate) const CONTAINERS_WIDE: Column =
    Column::string("Containers", "Names of each container in the template.").wide();

pub(crate) const IMAGES_WIDE: Column =
    Column::string("Images", "Images referenced by each container in the template.").wide();
