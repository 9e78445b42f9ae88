/// Maps a request to a response over the verified layout. Pure: no sockets, no clock.
struct Router {
    let layout: SeedLayout

    func respond(to request: Request) -> Response {
        let isHead = request.method.equals("HEAD")
        var response = route(request, isHead: isHead)
        if request.hasBody || !request.keepAlive { response.close = true }
        if isHead { response.body = .none }
        return response
    }

    private func route(_ request: Request, isHead: Bool) -> Response {
        guard request.method.equals("GET") || isHead else {
            var message = Bytes("the seed registry is read-only: ")
            message.append(contentsOf: request.method)
            message.append(" is not allowed")
            var r = errorResponse(405, "UNSUPPORTED", message, detail: request.target)
            r.headers.append(("Allow", Bytes("GET, HEAD")))
            r.close = true
            return r
        }
        var path = request.target
        if let q = path.firstIndex(of: 63) { path = path.slice(0, q) } // drop ?query
        if path.equals("/v2/") || path.equals("/v2") {
            return jsonResponse(Bytes("{}"))
        }
        guard path.hasPrefix("/v2/") else {
            return errorResponse(404, "NOT_FOUND", Bytes("the seed registry serves only the /v2/ API"), detail: request.target)
        }
        let rest = path.from(4)
        if rest.equals("_catalog") { return catalog() }
        if rest.hasSuffix("/tags/list") { return tagList(rest.slice(0, rest.count - 10)) }
        if let at = rest.lastIndex(of: "/manifests/") {
            return manifest(rest.slice(0, at), rest.from(at + 11))
        }
        if let at = rest.lastIndex(of: "/blobs/") {
            return blob(rest.slice(0, at), rest.from(at + 7), range: request.range)
        }
        return errorResponse(404, "NOT_FOUND", Bytes("unknown registry endpoint"), detail: request.target)
    }

    private func manifest(_ name: Bytes, _ reference: Bytes) -> Response {
        guard let byTag = layout.tags[name] else { return nameUnknown(name) }
        var hex: Bytes? = nil
        if reference.hasPrefix("sha256:") {
            guard isSHA256Hex(reference.from(7)) else {
                return errorResponse(400, "DIGEST_INVALID", Bytes("invalid digest"), detail: reference)
            }
            hex = reference.from(7)
        } else if reference.contains(58) {
            return errorResponse(404, "MANIFEST_UNKNOWN", Bytes("manifest unknown (only sha256 digests are served)"), detail: reference)
        } else {
            hex = byTag[reference]
        }
        guard let hex, let m = layout.manifests[hex] else {
            return errorResponse(404, "MANIFEST_UNKNOWN", Bytes("manifest unknown"), detail: name + [58] + reference)
        }
        let digest = Bytes("sha256:") + hex
        var r = Response(status: 200)
        r.headers = [("Content-Type", m.mediaType), ("Docker-Content-Digest", digest), ("Etag", [34] + digest + [34])]
        r.body = .bytes(m.bytes)
        r.contentLength = m.bytes.count
        return r
    }

    private func blob(_ name: Bytes, _ digest: Bytes, range: Bytes?) -> Response {
        guard layout.tags[name] != nil else { return nameUnknown(name) }
        guard digest.hasPrefix("sha256:"), isSHA256Hex(digest.from(7)) else {
            if digest.contains(58) && !digest.hasPrefix("sha256:") {
                return errorResponse(404, "BLOB_UNKNOWN", Bytes("blob unknown (only sha256 digests are served)"), detail: digest)
            }
            return errorResponse(400, "DIGEST_INVALID", Bytes("invalid digest"), detail: digest)
        }
        guard let entry = layout.blobs[digest.from(7)] else {
            return errorResponse(404, "BLOB_UNKNOWN", Bytes("blob unknown to registry"), detail: digest)
        }
        var r = Response(status: 200)
        r.headers = [("Content-Type", Bytes("application/octet-stream")), ("Docker-Content-Digest", digest),
                     ("Etag", [34] + digest + [34]), ("Accept-Ranges", Bytes("bytes")),
                     ("Cache-Control", Bytes("max-age=31536000"))]
        var start = 0
        var count = entry.size
        if let range {
            switch parseRange(range, size: entry.size) {
            case .full: break
            case .partial(let a, let b):
                r.status = 206
                var value = Bytes("bytes ")
                value.append(decimal: a)
                value.append(45)
                value.append(decimal: b)
                value.append(47)
                value.append(decimal: entry.size)
                r.headers.append(("Content-Range", value))
                start = a
                count = b - a + 1
            case .unsatisfiable:
                var e = errorResponse(416, "BLOB_UNKNOWN", Bytes("requested range not satisfiable"), detail: digest)
                var value = Bytes("bytes */")
                value.append(decimal: entry.size)
                e.headers.append(("Content-Range", value))
                return e
            }
        }
        r.body = .payload(offset: entry.offset + start, count: count)
        r.contentLength = count
        return r
    }

    private func tagList(_ name: Bytes) -> Response {
        guard let byTag = layout.tags[name] else { return nameUnknown(name) }
        var tags: [Bytes] = []
        for (t, _) in byTag { tags.append(t) }
        tags.sort(by: bytesBefore)
        var s = Bytes("{\"name\":")
        appendJSONString(name, to: &s)
        s.append(",\"tags\":[")
        for (i, t) in tags.enumerated() {
            if i > 0 { s.append(44) }
            appendJSONString(t, to: &s)
        }
        s.append("]}")
        return jsonResponse(s)
    }

    private func catalog() -> Response {
        var names: [Bytes] = []
        for (n, _) in layout.tags { names.append(n) }
        names.sort(by: bytesBefore)
        var s = Bytes("{\"repositories\":[")
        for (i, n) in names.enumerated() {
            if i > 0 { s.append(44) }
            appendJSONString(n, to: &s)
        }
        s.append("]}")
        return jsonResponse(s)
    }

    private func nameUnknown(_ name: Bytes) -> Response {
        errorResponse(404, "NAME_UNKNOWN", Bytes("repository name not known to registry"), detail: name)
    }

    private func jsonResponse(_ body: Bytes) -> Response {
        var r = Response(status: 200)
        r.headers = [("Content-Type", Bytes("application/json"))]
        r.body = .bytes(body)
        r.contentLength = body.count
        return r
    }
}

/// An OCI distribution error response: `{"errors":[{"code":…,"message":…,"detail":…}]}`.
func errorResponse(_ status: Int, _ code: StaticString, _ message: Bytes, detail: Bytes) -> Response {
    var text = Bytes("{\"errors\":[{\"code\":\"")
    text.append(code)
    text.append("\",\"message\":")
    appendJSONString(message, to: &text)
    text.append(",\"detail\":")
    appendJSONString(detail, to: &text)
    text.append("}]}\n")
    var r = Response(status: status)
    r.headers = [("Content-Type", Bytes("application/json"))]
    r.body = .bytes(text)
    r.contentLength = text.count
    return r
}

/// Appends `s` as a JSON string literal (quotes, backslashes and control bytes escaped).
func appendJSONString(_ s: Bytes, to out: inout Bytes) {
    let hex: StaticString = "0123456789abcdef"
    out.append(34)
    for c in s {
        switch c {
        case 34: out.append(92); out.append(34)
        case 92: out.append(92); out.append(92)
        case 0..<32:
            out.append("\\u00")
            out.append(hex.utf8Start[Int(c >> 4)])
            out.append(hex.utf8Start[Int(c & 15)])
        default: out.append(c)
        }
    }
    out.append(34)
}
