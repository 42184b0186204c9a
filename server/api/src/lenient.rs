//! A `serde` deserializer over `serde_json::Value` that accepts a boolean or number where a
//! string is expected, and records where it did.
//!
//! Why: kubectl turns YAML into JSON without knowing field types, so an unquoted YAML 1.1
//! scalar in a string field (`name: Y`, `value: yes`, `value: 8080`) arrives as `true` or a
//! number. Upstream rejects such a body; users meet that as a confusing failure of a manifest
//! that "looks right". We accept the scalar as its JSON text and return a warning naming the
//! field, so nothing changes silently: kubectl prints the warning.

use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Error, Value};
use std::cell::RefCell;

/// One step of a path into a JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A scalar taken as text: where, what it became, and the warning for the client.
#[derive(Debug, Clone, PartialEq)]
pub struct Coercion {
    pub path: Vec<Seg>,
    pub text: String,
    pub warning: String,
}

/// `spec.containers[0].env[1].name`, as upstream prints field paths.
pub fn format_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Rewrite each coerced scalar of `doc` as its text, so the document says what is stored.
pub fn apply_coercions(doc: &mut Value, coercions: &[Coercion]) {
    for c in coercions {
        let target = c.path.iter().try_fold(&mut *doc, |v, seg| match seg {
            Seg::Key(k) => v.get_mut(k.as_str()),
            Seg::Index(i) => v.get_mut(*i),
        });
        if let Some(v) = target {
            *v = Value::String(c.text.clone());
        }
    }
}

pub struct Lenient<'a> {
    value: &'a Value,
    path: Vec<Seg>,
    coercions: &'a RefCell<Vec<Coercion>>,
}

impl<'a> Lenient<'a> {
    pub fn new(value: &'a Value, coercions: &'a RefCell<Vec<Coercion>>) -> Self {
        Lenient { value, path: Vec::new(), coercions }
    }

    fn child(&self, value: &'a Value, seg: Seg) -> Self {
        let mut path = self.path.clone();
        path.push(seg);
        Lenient { value, path, coercions: self.coercions }
    }

    fn coerce(&self) -> String {
        let text = self.value.to_string();
        let kind = if self.value.is_boolean() { "boolean" } else { "number" };
        let warning = format!(
            "{}: {kind} {text} was given where a string is expected and was stored as \"{text}\" (quote YAML scalars such as Y, yes, on and numbers in string fields)",
            format_path(&self.path)
        );
        self.coercions.borrow_mut().push(Coercion { path: self.path.clone(), text: text.clone(), warning });
        text
    }
}

impl<'de> Deserializer<'de> for Lenient<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_str(s),
            Value::Array(items) => visitor.visit_seq(Seq { items: items.iter().enumerate(), parent: self }),
            Value::Object(map) => visitor.visit_map(Map { entries: map.iter(), pending: None, parent: self }),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Bool(_) | Value::Number(_) => visitor.visit_string(self.coerce()),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.value.clone().into_deserializer().deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit unit_struct
        seq tuple tuple_struct map struct identifier ignored_any
    }
}

struct Seq<'a, I> {
    items: I,
    parent: Lenient<'a>,
}

impl<'de, 'a, I: Iterator<Item = (usize, &'a Value)>> SeqAccess<'de> for Seq<'a, I> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        match self.items.next() {
            None => Ok(None),
            Some((i, v)) => seed.deserialize(self.parent.child(v, Seg::Index(i))).map(Some),
        }
    }
}

struct Map<'a, I> {
    entries: I,
    pending: Option<(&'a String, &'a Value)>,
    parent: Lenient<'a>,
}

impl<'de, 'a, I: Iterator<Item = (&'a String, &'a Value)>> MapAccess<'de> for Map<'a, I> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            None => Ok(None),
            Some((k, v)) => {
                self.pending = Some((k, v));
                seed.deserialize(k.as_str().into_deserializer()).map(Some)
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let (k, v) = self.pending.take().ok_or_else(|| de::Error::custom("value requested before key"))?;
        seed.deserialize(self.parent.child(v, Seg::Key(k.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[test]
    fn scalars_in_string_fields_are_kept_as_text_and_recorded() {
        let v = json!({"name": "c", "image": "x", "env": [{"name": true, "value": 8080}], "ports": [{"containerPort": 80}]});
        let coercions = RefCell::new(Vec::new());
        let c = k8s_openapi::api::core::v1::Container::deserialize(Lenient::new(&v, &coercions)).unwrap();
        let env = c.env.unwrap();
        assert_eq!((env[0].name.as_str(), env[0].value.as_deref()), ("true", Some("8080")));
        assert_eq!(c.ports.unwrap()[0].container_port, 80);
        let w = coercions.into_inner();
        assert_eq!(w.len(), 2);
        assert!(w[0].warning.starts_with("env[0].name: boolean true"), "{w:?}");
        let mut doc = v.clone();
        apply_coercions(&mut doc, &w);
        assert_eq!(doc["env"][0], json!({"name": "true", "value": "8080"}));
        assert_eq!(doc["ports"][0]["containerPort"], 80, "numbers in number fields stay numbers");
    }

    #[test]
    fn strings_in_number_fields_are_still_errors() {
        let v = json!({"name": "c", "ports": [{"containerPort": "80"}]});
        let coercions = RefCell::new(Vec::new());
        assert!(k8s_openapi::api::core::v1::Container::deserialize(Lenient::new(&v, &coercions)).is_err());
    }
}
