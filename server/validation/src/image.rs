//! Just enough container-image-reference parsing to pick the default
//! `imagePullPolicy` the way upstream's `parsers.ParseImageName` does:
//! `Always` when the tag is (or defaults to) `latest`, `IfNotPresent`
//! otherwise, including when the reference does not parse.

/// The tag of `image`; `Some("")` for digest-only references, `None` when
/// the reference is not valid.
fn tag_of(image: &str) -> Option<String> {
    if image.is_empty() {
        return None;
    }
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match name[last_slash..].split_once(':') {
        Some((_, t)) => (&name[..last_slash + name[last_slash..].find(':')?], Some(t)),
        None => (name, None),
    };
    if !repo_is_valid(repo) || tag.is_some_and(|t| !tag_is_valid(t)) {
        return None;
    }
    Some(match (tag, digest) {
        (Some(t), _) => t.to_owned(),
        (None, Some(_)) => String::new(),
        (None, None) => "latest".to_owned(),
    })
}

/// Docker reference rules: an optional domain (first component containing
/// `.`/`:`, equal to `localhost`, or with upper case) then lower-case path
/// components.
fn repo_is_valid(repo: &str) -> bool {
    let path = match repo.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':']) || first == "localhost" || first.to_lowercase() != first =>
        {
            rest
        }
        _ => repo,
    };
    !path.is_empty()
        && path.split('/').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && c.as_bytes()[0].is_ascii_alphanumeric()
                && c.as_bytes()[c.len() - 1].is_ascii_alphanumeric()
        })
}

fn tag_is_valid(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 128
        && (tag.as_bytes()[0].is_ascii_alphanumeric() || tag.starts_with('_'))
        && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// The default pull policy for `image`.
pub fn default_pull_policy(image: &str) -> &'static str {
    match tag_of(image).as_deref() {
        Some("latest") => "Always",
        _ => "IfNotPresent",
    }
}

#[cfg(test)]
mod tests {
    use super::default_pull_policy as p;

    #[test]
    fn pull_policy_follows_tag() {
        assert_eq!(p("nginx"), "Always");
        assert_eq!(p("nginx:latest"), "Always");
        assert_eq!(p("nginx:1.25"), "IfNotPresent");
        assert_eq!(p("localhost:5000/team/app"), "Always");
        assert_eq!(p("localhost:5000/team/app:v2"), "IfNotPresent");
        assert_eq!(p("nginx@sha256:abcd"), "IfNotPresent");
        assert_eq!(p("Nginx"), "IfNotPresent");
        assert_eq!(p(""), "IfNotPresent");
    }
}
