//! The `escape` behaviour: tries every way out of the sandbox and reports what worked.

use crate::guest::bindings::exports::quarry::connector::source::Properties;

/// `(attempt, succeeded, detail)` rows.
pub fn attempt_everything(properties: &Properties) -> Vec<(String, bool, String)> {
    let prop = |k: &str| {
        properties
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let list = |k: &str| -> Vec<String> {
        prop(k)
            .map(|v| {
                v.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();

    let mut reads = vec!["/etc/passwd".to_owned()];
    reads.extend(list("read_paths"));
    for path in reads {
        let r = std::fs::read(&path);
        out.push(match r {
            Ok(bytes) => (
                format!("read {path}"),
                true,
                format!("{} bytes", bytes.len()),
            ),
            Err(e) => (format!("read {path}"), false, e.to_string()),
        });
    }

    let mut dirs = vec!["/".to_owned()];
    dirs.extend(list("list_paths"));
    for dir in dirs {
        let r = std::fs::read_dir(&dir).map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        });
        out.push(match r {
            Ok(names) => (format!("list {dir}"), true, names.join(",")),
            Err(e) => (format!("list {dir}"), false, e.to_string()),
        });
    }

    for dir in list("list_paths") {
        let path = format!("{dir}/escape.txt");
        out.push(match std::fs::write(&path, b"escaped") {
            Ok(()) => (format!("write {path}"), true, "written".into()),
            Err(e) => (format!("write {path}"), false, e.to_string()),
        });
    }

    let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    out.push((
        "environment".into(),
        !vars.is_empty(),
        format!("{} variables: {}", vars.len(), vars.join(",")),
    ));

    let tcp = prop("tcp_addr").unwrap_or_else(|| "127.0.0.1:80".into());
    out.push(match std::net::TcpStream::connect(&tcp) {
        Ok(_) => (format!("tcp {tcp}"), true, "connected".into()),
        Err(e) => (format!("tcp {tcp}"), false, e.to_string()),
    });

    let url = prop("http_url").unwrap_or_else(|| "http://127.0.0.1:80/".into());
    out.push(match http_get(&url) {
        Ok(status) => (format!("http {url}"), true, format!("status {status}")),
        Err(e) => (format!("http {url}"), false, e),
    });
    out
}

fn http_get(url: &str) -> Result<u16, String> {
    use wasip2::http::outgoing_handler::handle;
    use wasip2::http::types::{Fields, Method, OutgoingRequest, Scheme};

    let (scheme, rest) = url.split_once("://").ok_or("not a url")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let request = OutgoingRequest::new(Fields::new());
    request.set_method(&Method::Get).map_err(|_| "bad method")?;
    let scheme = match scheme {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => Scheme::Other(other.into()),
    };
    request
        .set_scheme(Some(&scheme))
        .map_err(|_| "bad scheme")?;
    request
        .set_authority(Some(authority))
        .map_err(|_| "bad authority")?;
    request
        .set_path_with_query(Some(path))
        .map_err(|_| "bad path")?;
    let future = handle(request, None).map_err(|e| format!("{e:?}"))?;
    future.subscribe().block();
    match future.get() {
        Some(Ok(Ok(response))) => Ok(response.status()),
        Some(Ok(Err(e))) => Err(format!("{e:?}")),
        Some(Err(())) => Err("response already taken".into()),
        None => Err("no response".into()),
    }
}
