//! URL -> which resource, namespace, name and subresource a request is about.

use wasmkube_api::registry::find;
use wasmkube_api::status::ApiError;
use wasmkube_api::{ResourceDef, Subresource};

/// What a resource URL names.
#[derive(Debug)]
pub struct Target {
    pub def: &'static ResourceDef,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub sub: Option<Subresource>,
    /// The legacy `/watch/` path prefix.
    pub legacy_watch: bool,
}

/// A parsed API path: discovery of one group/version, or a resource request.
#[derive(Debug)]
pub enum ApiPath {
    GroupVersion { group: String, version: String },
    Group { group: String },
    Resource(Target),
}

pub fn parse(path: &str) -> Result<ApiPath, ApiError> {
    let not_found = || ApiError::no_route(path);
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", g] => {
            return Ok(ApiPath::Group { group: (*g).to_string() });
        }
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(not_found()),
    };
    let (legacy_watch, rest) = match rest {
        ["watch", rest @ ..] => (true, rest),
        _ => (false, rest),
    };
    if rest.is_empty() {
        if wasmkube_api::registry::resources_of(group, version).next().is_none() {
            return Err(not_found());
        }
        return Ok(ApiPath::GroupVersion { group: group.into(), version: version.into() });
    }
    let (namespace, rest) = match rest {
        ["namespaces", ns, plural, tail @ ..] if !matches!(*plural, "status" | "finalize") => (Some(*ns), {
            let mut v = vec![*plural];
            v.extend_from_slice(tail);
            v
        }),
        other => (None, other.to_vec()),
    };
    let (plural, name, sub) = match rest.as_slice() {
        [p] => (*p, None, None),
        [p, n] => (*p, Some(*n), None),
        [p, n, s] => (*p, Some(*n), Some(*s)),
        _ => return Err(not_found()),
    };
    let def = find(group, version, plural).ok_or_else(not_found)?;
    if namespace.is_some() && !def.namespaced {
        return Err(not_found());
    }
    let sub = match sub {
        None => None,
        Some(s) => Some(*def.subresources.iter().find(|x| x.name() == s).ok_or_else(not_found)?),
    };
    if name.is_some_and(str::is_empty) || namespace.is_some_and(str::is_empty) {
        return Err(not_found());
    }
    Ok(ApiPath::Resource(Target {
        def,
        namespace: namespace.map(String::from),
        name: name.map(String::from),
        sub,
        legacy_watch,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(p: &str) -> Target {
        match parse(p).unwrap() {
            ApiPath::Resource(t) => t,
            other => panic!("{p}: {other:?}"),
        }
    }

    #[test]
    fn namespaced_cluster_and_subresource_paths() {
        let t = target("/apis/apps/v1/namespaces/default/deployments/web/scale");
        assert_eq!(
            (t.def.plural, t.namespace.as_deref(), t.name.as_deref(), t.sub),
            ("deployments", Some("default"), Some("web"), Some(Subresource::Scale))
        );
        let t = target("/api/v1/namespaces/team-a");
        assert_eq!((t.def.plural, t.namespace, t.name.as_deref()), ("namespaces", None, Some("team-a")));
        let t = target("/api/v1/namespaces/team-a/finalize");
        assert_eq!((t.name.as_deref(), t.sub), (Some("team-a"), Some(Subresource::Finalize)));
        let t = target("/api/v1/pods");
        assert_eq!((t.namespace, t.name), (None, None));
        assert!(target("/api/v1/watch/namespaces/default/pods").legacy_watch);
    }

    #[test]
    fn unknown_things_are_404() {
        for p in [
            "/api/v2/pods",
            "/apis/apps/v1/widgets",
            "/api/v1/namespaces/x/nodes",
            "/apis/apps/v1/namespaces/d/deployments/w/bogus",
            "/x",
        ] {
            assert_eq!(parse(p).unwrap_err().code, 404, "{p}");
        }
    }
}
