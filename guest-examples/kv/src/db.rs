//! The keyspace: string keys to string values (no expiry, no other types).

use std::collections::HashMap;

#[derive(Default)]
pub struct Db {
    map: HashMap<Vec<u8>, Vec<u8>>,
}

impl Db {
    pub fn get(&self, key: &[u8]) -> Option<&Vec<u8>> {
        self.map.get(key)
    }

    pub fn set(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.map.insert(key, value);
    }

    pub fn remove(&mut self, key: &[u8]) -> bool {
        self.map.remove(key).is_some()
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.map.contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn clear(&mut self) {
        self.map.clear();
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &Vec<u8>)> {
        self.map.iter()
    }

    /// Keys matching a Redis glob pattern, sorted (Redis leaves the order unspecified).
    pub fn keys(&self, pattern: &[u8]) -> Vec<Vec<u8>> {
        let mut keys: Vec<Vec<u8>> = self.map.keys().filter(|k| glob_match(pattern, k)).cloned().collect();
        keys.sort();
        keys
    }
}

/// Redis-style glob: `*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\x`.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob_match(rest, &text[i..])),
        Some((b'?', rest)) => !text.is_empty() && glob_match(rest, &text[1..]),
        Some((b'[', rest)) => match (text.first(), class_end(rest)) {
            (Some(&c), Some(end)) => {
                class_matches(&rest[..end], c) && glob_match(&rest[end + 1..], &text[1..])
            }
            (Some(&c), None) => c == b'[' && glob_match(rest, &text[1..]),
            (None, _) => false,
        },
        Some((b'\\', rest)) if !rest.is_empty() => {
            text.first() == Some(&rest[0]) && glob_match(&rest[1..], &text[1..])
        }
        Some((&p, rest)) => text.first() == Some(&p) && glob_match(rest, &text[1..]),
    }
}

fn class_end(class: &[u8]) -> Option<usize> {
    let start = usize::from(class.first() == Some(&b'^'));
    (start..class.len()).find(|&i| class[i] == b']' && i > start)
}

fn class_matches(class: &[u8], c: u8) -> bool {
    let (negated, class) = match class.split_first() {
        Some((b'^', rest)) => (true, rest),
        _ => (false, class),
    };
    let mut i = 0;
    let mut hit = false;
    while i < class.len() {
        if i + 2 < class.len() && class[i + 1] == b'-' {
            hit |= (class[i]..=class[i + 2]).contains(&c);
            i += 3;
        } else {
            hit |= class[i] == c;
            i += 1;
        }
    }
    hit != negated
}
