import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import OutpostCore

/// Runs HTTP, TCP and exec probes against a pod's IP or inside a container.
struct Prober: Sendable {
    private static let client: HTTPClient = {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }()

    /// Resolves a named or numeric port against the container's ports.
    static func port(_ value: JSONValue?, container: JSONValue) -> Int? {
        if let n = value?.intValue { return n }
        if let s = value?.stringValue {
            if let n = Int(s) { return n }
            return (container["ports"]?.arrayValue ?? []).first { $0["name"]?.stringValue == s }?["containerPort"]?.intValue
        }
        return nil
    }

    func run(_ probe: JSONValue, ip: String, container: JSONValue, runtime: PodmanRuntime, node: String, containerName: String) async -> Bool {
        let timeout = Int64(probe["timeoutSeconds"]?.intValue ?? 1)
        if let http = probe["httpGet"] {
            guard let port = Self.port(http["port"], container: container) else { return false }
            let scheme = (http["scheme"]?.stringValue ?? "HTTP").lowercased()
            let host = http["host"]?.stringValue ?? ip
            var request = HTTPClientRequest(url: "\(scheme)://\(host):\(port)\(http["path"]?.stringValue ?? "/")")
            for h in http["httpHeaders"]?.arrayValue ?? [] {
                request.headers.add(name: h["name"]?.stringValue ?? "", value: h["value"]?.stringValue ?? "")
            }
            guard let r = try? await Self.client.execute(request, timeout: .seconds(timeout)) else { return false }
            _ = try? await r.body.collect(upTo: 1 << 20)
            return (200..<400).contains(Int(r.status.code))
        }
        if let tcp = probe["tcpSocket"] {
            guard let port = Self.port(tcp["port"], container: container) else { return false }
            let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(timeout))
            guard let channel = try? await bootstrap.connect(host: tcp["host"]?.stringValue ?? ip, port: port).get() else { return false }
            try? await channel.close()
            return true
        }
        if let command = probe["exec"]?["command"]?.arrayValue?.compactMap(\.stringValue) {
            let r = try? await runtime.run(node, ["exec", containerName] + command, check: false)
            return r?.status == 0
        }
        if let grpc = probe["grpc"] {
            // Without a gRPC client the simulator checks the port accepts connections.
            return await run(["tcpSocket": ["port": grpc["port"] ?? 0]], ip: ip, container: container, runtime: runtime, node: node, containerName: containerName)
        }
        return true
    }
}
