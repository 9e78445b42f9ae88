import CShim

// outpost-injector <sha256hex> [listen-address]
//
// Reads the payload chunks zarf-payload-NNN from $ZARF_INJECTOR_INIT_ROOT (default /zarf-init), checks
// their SHA-256 against the argument, indexes the OCI image layout inside (an uncompressed tar), and only
// then listens and serves it as a read-only registry. Any problem: one line on stderr, exit non-zero.

let usage: Message = """
usage: outpost-injector <sha256hex> [listen-address]
  Verifies the payload chunks zarf-payload-NNN in $ZARF_INJECTOR_INIT_ROOT (default /zarf-init) against
  <sha256hex>, then serves the OCI image layout inside them as a read-only registry on listen-address
  (default 0.0.0.0:5000; [::]:5000 for IPv6). Set OUTPOST_INJECTOR_QUIET=1 to turn off the request log,
  OUTPOST_INJECTOR_PORTABLE_SHA256=1 to hash without the CPU's SHA extensions.
"""

@_cdecl("main")
func main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    var args: [Bytes] = []
    for i in 1..<Int(argc) {
        let p = UnsafeRawPointer(argv[i]!).assumingMemoryBound(to: UInt8.self)
        args.append(Bytes(UnsafeBufferPointer(start: p, count: strlen(argv[i]!))))
    }
    if let first = args.first, first.equals("-h") || first.equals("--help") {
        printLine(usage)
        return 0
    }
    do {
        try start(args)
    } catch {
        printError("outpost-injector: \(error.message)")
        if case .usage = error { printError(usage) }
        return error.exitCode
    }
}

func start(_ args: [Bytes]) throws(InjectorError) -> Never {
    shim_setup_signals()
    guard args.count == 1 || args.count == 2 else {
        throw .usage("expected <sha256hex> [listen-address], got \(args.count) arguments")
    }
    var expected = Bytes()
    for c in args[0] { expected.append((c >= 65 && c <= 70) ? c + 32 : c) }
    guard isSHA256Hex(expected) else {
        throw .usage("the payload hash \"\(args[0])\" is not 64 hex digits")
    }
    let address = args.count == 2 ? args[1] : Bytes("0.0.0.0:5000")
    var root = Bytes("/zarf-init")
    if let env = getenv("ZARF_INJECTOR_INIT_ROOT"), env[0] != 0 {
        root = Bytes(UnsafeBufferPointer(start: UnsafeRawPointer(env).assumingMemoryBound(to: UInt8.self), count: strlen(env)))
    }
    let quiet = getenv("OUTPOST_INJECTOR_QUIET") != nil

    let payload = try ChunkedPayload(directory: root)
    let accelerated = getenv("OUTPOST_INJECTOR_PORTABLE_SHA256") == nil && cpuHasSHAExtensions()
    let actual = try payload.sha256(accelerated: accelerated)
    guard actual == expected else {
        throw .hashMismatch(expected: expected, actual: actual, chunks: payload.chunks.count, bytes: payload.size)
    }
    let entries = try indexTar(payload)
    let layout = try SeedLayout(payload: payload, entries: entries)

    let listener = try listen(on: address)
    printLine("verified \(payload.chunks.count) chunks (\(payload.size) bytes, sha256:\(actual)); serving \(layout.summary) on \(listener.bound)")
    let server = Server(listener: listener.fd, router: Router(layout: layout), payload: payload, log: !quiet)
    server.run()
}

/// Binds `HOST:PORT`, `[V6]:PORT` or `:PORT` and listens; returns the socket and the bound address.
func listen(on address: Bytes) throws(InjectorError) -> (fd: Int32, bound: Message) {
    guard let colon = address.lastIndex(of: ":") else {
        throw .listen("listen address \(address) is not HOST:PORT")
    }
    var host = address.slice(0, colon)
    let portText = address.from(colon + 1)
    var port = 0
    for c in portText {
        guard c >= 48 && c <= 57, port <= 65535 else { port = -1; break }
        port = port * 10 + Int(c - 48)
    }
    guard !portText.isEmpty, port >= 0, port <= 65535 else {
        throw .listen("listen address \(address): \(portText) is not a port number")
    }
    var v6: Int32 = 0
    if host.count >= 2 && host[0] == 91 && host[host.count - 1] == 93 { // [v6]
        host = host.slice(1, host.count - 1)
        v6 = 1
    }
    host.append(0)
    var boundPort: Int32 = 0
    let fd = host.withUnsafeBufferPointer { h in
        h.withMemoryRebound(to: CChar.self) { shim_listen($0.baseAddress!, v6, Int32(port), &boundPort) }
    }
    host.removeLast()
    switch fd {
    case -1: throw .listen("listen address \(address): \(host) is not an \(v6 == 1 ? Message("IPv6") : Message("IPv4")) address (use [addr]:port for IPv6)")
    case ..<0: throw .listen("cannot listen on \(address): \(errnoText())")
    default: break
    }
    let shown: Message = v6 == 1 ? "[\(host)]" : (host.isEmpty ? "0.0.0.0" : Message(host))
    return (fd, "\(shown):\(Int(boundPort))")
}
