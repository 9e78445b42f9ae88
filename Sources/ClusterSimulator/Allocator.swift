import Foundation
import OutpostCore
#if canImport(Glibc)
import Glibc
#endif

/// Hands out service cluster IPs (at random from 10.96.0.0/16, as Kubernetes does, skipping any the host
/// already has: the service proxy puts them on the loopback interface, and other simulators may run
/// beside this one) and node ports (from the configured range,
/// skipping ports something on this machine already listens on, since node ports really bind
/// 127.0.0.1:<port>). Explicitly requested values are honoured or refused with 422, as the API does.
actor Allocator {
    private var clusterIPs: [String: String] = [:]   // ip → service uid
    private var nodePorts: [Int: String] = [:]       // port → service uid
    private let nodePortRange: ClosedRange<Int>
    private var nextPort: Int

    init(nodePortRange: ClosedRange<Int>) {
        self.nodePortRange = nodePortRange
        self.nextPort = nodePortRange.lowerBound
    }

    func allocate(_ input: JSONValue, type: ResourceType, old: JSONValue?) throws(SimulatorError) -> JSONValue {
        var o = input
        guard type.kind == "Service", type.group.isEmpty else { return o }
        let uid = o.uid
        let svcType = o["spec"]?["type"]?.stringValue ?? "ClusterIP"
        if svcType != "ExternalName" {
            let requested = o["spec"]?["clusterIP"]?.stringValue ?? old?["spec"]?["clusterIP"]?.stringValue
            if requested == "None" {
                o.set(["spec", "clusterIPs"], ["None"])
            } else if let ip = requested, !ip.isEmpty {
                if let owner = clusterIPs[ip], owner != uid {
                    throw .invalid(kind: "Service", group: "", name: o.name, causes: [("spec.clusterIPs", "Invalid value: \"\(ip)\": provided IP is already allocated")])
                }
                clusterIPs[ip] = uid
                o.set(["spec", "clusterIPs"], [.string(ip)])
            } else {
                var ip = ""
                repeat { ip = "10.96.\(Int.random(in: 0...255)).\(Int.random(in: 2...254))" } while clusterIPs[ip] != nil || Self.isLocalAddress(ip)
                clusterIPs[ip] = uid
                o.set(["spec", "clusterIP"], .string(ip))
                o.set(["spec", "clusterIPs"], [.string(ip)])
            }
            o.set(["spec", "ipFamilies"], ["IPv4"])
            o.set(["spec", "ipFamilyPolicy"], "SingleStack")
            o.set(["spec", "internalTrafficPolicy"], "Cluster")
        }
        guard svcType == "NodePort" || svcType == "LoadBalancer", case .array(var ports)? = o["spec"]?["ports"] else {
            if case .array(var ports)? = o["spec"]?["ports"] {
                for i in ports.indices { ports[i]["nodePort"] = nil }
                o.set(["spec", "ports"], .array(ports))
            }
            return o
        }
        let oldPorts = old?["spec"]?["ports"]?.arrayValue ?? []
        for i in ports.indices {
            if let p = ports[i]["nodePort"]?.intValue, p != 0 {
                guard nodePortRange.contains(p) else {
                    throw .invalid(kind: "Service", group: "", name: o.name, causes: [("spec.ports[\(i)].nodePort", "Invalid value: \(p): provided port is not in the valid range. The range of valid ports is \(nodePortRange.lowerBound)-\(nodePortRange.upperBound)")])
                }
                if let owner = nodePorts[p], owner != uid {
                    throw .invalid(kind: "Service", group: "", name: o.name, causes: [("spec.ports[\(i)].nodePort", "Invalid value: \(p): provided port is already allocated")])
                }
                nodePorts[p] = uid
            } else if let previous = oldPorts.first(where: { $0["port"] == ports[i]["port"] })?["nodePort"]?.intValue {
                ports[i]["nodePort"] = .number(Double(previous))
            } else {
                guard let p = freePort() else {
                    throw .invalid(kind: "Service", group: "", name: o.name, causes: [("spec.ports[\(i)].nodePort", "Internal error: range of node ports is full")])
                }
                nodePorts[p] = uid
                ports[i]["nodePort"] = .number(Double(p))
            }
        }
        o.set(["spec", "ports"], .array(ports))
        o.set(["spec", "externalTrafficPolicy"], o["spec"]?["externalTrafficPolicy"] ?? "Cluster")
        return o
    }

    private func freePort() -> Int? {
        let size = nodePortRange.count
        for _ in 0..<size {
            let p = nextPort
            nextPort = nextPort >= nodePortRange.upperBound ? nodePortRange.lowerBound : nextPort + 1
            if nodePorts[p] == nil && Self.isBindable(p) { return p }
        }
        return nil
    }

    /// Whether 127.0.0.1:`port` is free on this machine right now.
    static func isBindable(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// Whether `ip` is already an address of this machine (binding to it succeeds).
    static func isLocalAddress(_ ip: String) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr(ip)
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    func release(_ o: JSONValue) {
        let uid = o.uid
        clusterIPs = clusterIPs.filter { $0.value != uid }
        nodePorts = nodePorts.filter { $0.value != uid }
    }
}
