//! Patch metadata for the Kubernetes built-in types.
//!
//! The table in `generated.rs` is derived from upstream (see `tools/gen_schema.py`); this
//! module is the read side. Everything is reached from a root kind:
//!
//! ```
//! use wasmkube_patch::schema::{root_type, ListStrategy, TypeRef};
//! let deploy = root_type("apps", "v1", "Deployment").unwrap();
//! let containers = deploy.child("spec").child("template").child("spec").child("containers");
//! assert!(matches!(containers, TypeRef::List { strategy: ListStrategy::Merge { key: Some("name") }, .. }));
//! ```
//!
//! Unknown names never fail a lookup: they answer [`TypeRef::Untyped`], which merges maps
//! and replaces lists, exactly what upstream does for fields without metadata.

#[rustfmt::skip]
mod generated;
mod model;

pub use model::{Elem, Field, ListStrategy, ListType, MapKey, TypeDef, TypeId, TypeRef};

/// The schema of a root kind (`group` is `""` for the core group), if it is built in.
pub fn root_type(group: &str, version: &str, kind: &str) -> Option<TypeRef> {
    generated::ROOTS
        .iter()
        .find(|(g, v, k, _)| *g == group && *v == version && *k == kind)
        .map(|&(_, _, _, id)| TypeRef::Object(id))
}

/// The schema of an object's `apiVersion` and `kind`, e.g. `("apps/v1", "Deployment")`.
pub fn root_type_for(api_version: &str, kind: &str) -> Option<TypeRef> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    root_type(group, version, kind)
}

/// A struct type by its OpenAPI definition name, e.g. `io.k8s.api.core.v1.Container`.
pub fn type_by_name(name: &str) -> Option<TypeRef> {
    generated::TYPES
        .iter()
        .position(|def| def.name == name)
        .and_then(|i| u16::try_from(i).ok())
        .map(|i| TypeRef::Object(TypeId(i)))
}

impl TypeId {
    /// The definition behind this id.
    pub fn def(self) -> &'static TypeDef {
        &generated::TYPES[usize::from(self.0)]
    }
}

impl TypeDef {
    /// The field with this JSON name, if the struct declares it.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        let fields: &'static [Field] = self.fields;
        fields.binary_search_by(|f| f.name.cmp(name)).ok().map(|i| &fields[i])
    }
}

impl TypeRef {
    /// The struct definition, for [`TypeRef::Object`].
    pub fn def(self) -> Option<&'static TypeDef> {
        match self {
            TypeRef::Object(id) => Some(id.def()),
            _ => None,
        }
    }

    /// The declared field `name` of a struct (`None` for maps, lists, unknown names).
    pub fn field(self, name: &str) -> Option<&'static Field> {
        self.def().and_then(|def| def.field(name))
    }

    /// The schema of the value under key `name` of this map or struct.
    pub fn child(self, name: &str) -> TypeRef {
        match self {
            TypeRef::Object(_) => self.field(name).map_or(TypeRef::Untyped, |f| f.ty),
            TypeRef::Map { value, .. } => value.type_ref(),
            _ => TypeRef::Untyped,
        }
    }

    /// The schema of one element of this list.
    pub fn item(self) -> TypeRef {
        match self {
            TypeRef::List { elem, .. } => elem.type_ref(),
            _ => TypeRef::Untyped,
        }
    }

    /// The strategic-merge strategy of this list; non-lists and unknown lists replace.
    pub fn list_strategy(self) -> ListStrategy {
        match self {
            TypeRef::List { strategy, .. } => strategy,
            _ => ListStrategy::Replace,
        }
    }

    /// The server-side-apply list type; unknown lists are atomic, as upstream deduces.
    pub fn list_type(self) -> ListType {
        match self {
            TypeRef::List { list_type, .. } => list_type,
            _ => ListType::Atomic,
        }
    }

    /// Whether server-side apply treats an object at this position as one value.
    pub fn is_atomic_object(self) -> bool {
        match self {
            TypeRef::Object(id) => id.def().atomic,
            TypeRef::Map { atomic, .. } => atomic,
            TypeRef::Scalar => true,
            TypeRef::Untyped | TypeRef::List { .. } => false,
        }
    }

    /// Whether `name` is a declared struct field (as opposed to a map key or unknown).
    pub fn declares(self, name: &str) -> bool {
        self.field(name).is_some()
    }
}

#[cfg(test)]
mod tests;
