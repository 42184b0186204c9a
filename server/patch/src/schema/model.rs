//! The vocabulary of the schema: what one JSON position can be, and how a patch treats it.
//!
//! Two merge algorithms read the same table, and they disagree on purpose: strategic merge
//! patch follows the Go struct tags (`patchStrategy`, `patchMergeKey`), server-side apply
//! follows the OpenAPI list types (`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`).
//! `Container.ports`, for instance, merges by `containerPort` in a strategic patch but is
//! keyed by `(containerPort, protocol)` in server-side apply, so both are recorded.

/// Index of an object type in the generated table; only the schema module mints them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TypeId(pub(super) u16);

/// The schema of one position in an object.
///
/// A position without metadata is [`TypeRef::Untyped`]: maps merge key by key and lists are
/// replaced whole, which is what upstream does for fields that carry no patch metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeRef {
    /// No metadata known: merge maps, replace lists.
    Untyped,
    /// A string, number, boolean or a scalar-encoded type (Quantity, Time, IntOrString).
    Scalar,
    /// A struct with named fields.
    Object(TypeId),
    /// A `map[string]V`; `atomic` is upstream's `+mapType=atomic` (server-side apply only).
    Map { value: Elem, atomic: bool },
    /// A list, with its strategic-merge strategy and its server-side-apply list type.
    List { elem: Elem, strategy: ListStrategy, list_type: ListType },
}

/// The element type of a list or the value type of a map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    Scalar,
    Untyped,
    Object(TypeId),
}

impl Elem {
    /// The schema of one element.
    pub fn type_ref(self) -> TypeRef {
        match self {
            Elem::Scalar => TypeRef::Scalar,
            Elem::Untyped => TypeRef::Untyped,
            Elem::Object(id) => TypeRef::Object(id),
        }
    }
}

/// How a strategic merge patch combines a list (upstream `patchStrategy` on the field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListStrategy {
    /// No strategy: the patch's list replaces the live one (upstream's default).
    Replace,
    /// `patchStrategy:"merge"`: lists of objects merge by `key`; lists of scalars (`key` is
    /// `None`, e.g. `finalizers`) are unioned.
    Merge { key: Option<&'static str> },
}

/// How server-side apply identifies list elements (`x-kubernetes-list-type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListType {
    /// The list is one value, owned and replaced as a whole.
    Atomic,
    /// Scalars identified by their value.
    Set,
    /// Objects identified by the values of these keys.
    Map(&'static [MapKey]),
}

/// One key of a list-map; `default` fills it when an element omits it (upstream `+default`,
/// e.g. `protocol: TCP` for container and service ports).
#[derive(Debug, PartialEq, Eq)]
pub struct MapKey {
    pub name: &'static str,
    pub default: Option<&'static str>,
}

/// One named field of a struct.
#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub ty: TypeRef,
    /// Upstream `patchStrategy:"retainKeys"` (alone or with `merge`): kubectl sends
    /// `$retainKeys` for this field, e.g. `DeploymentSpec.strategy`, `PodSpec.volumes`.
    pub retain_keys: bool,
}

/// One struct type of the Kubernetes API.
#[derive(Debug)]
pub struct TypeDef {
    /// OpenAPI definition name, e.g. `io.k8s.api.core.v1.Container`.
    pub name: &'static str,
    /// Upstream `+structType=atomic` (e.g. `LabelSelector`): server-side apply owns and
    /// replaces it as one value.
    pub atomic: bool,
    /// Fields, sorted by JSON name.
    pub fields: &'static [Field],
}

pub(super) const fn field(name: &'static str, ty: TypeRef) -> Field {
    Field { name, ty, retain_keys: false }
}

pub(super) const fn retain(name: &'static str, ty: TypeRef) -> Field {
    Field { name, ty, retain_keys: true }
}

pub(super) const fn key(name: &'static str, default: Option<&'static str>) -> MapKey {
    MapKey { name, default }
}
