@testable import ClusterSimulator
import Foundation
import OutpostCore
import Testing

/// The /etc/hosts the kubelet writes for a pod: a service's names are listed only once its cluster IP is
/// on this host (the service proxy puts it on the loopback interface). Before that, a connection to the
/// name would leave the machine by the default route.
@Suite struct PodHostsFileTests {
    @Test func serviceNamesAppearOnlyOnceTheirClusterIPIsOnTheHost() async throws {
        let api = ClusterAPI(store: ObjectStore(), catalog: ResourceCatalog(), admission: AdmissionChain(),
                             allocator: Allocator(nodePortRange: 30000...32767))
        _ = try await api.create(.core("Namespace", "namespaces", namespaced: false), namespace: "",
                                 ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "default"]])
        let services = ResourceType.core("Service", "services")
        func service(_ name: String, clusterIP: String) -> JSONValue {
            ["apiVersion": "v1", "kind": "Service", "metadata": ["name": .string(name), "namespace": "default"],
             "spec": ["clusterIP": .string(clusterIP), "ports": [["port": 80]]]]
        }
        // 127.0.0.0/8 is always on the loopback interface; 198.51.100.0/24 (TEST-NET-2) is on no host.
        _ = try await api.create(services, namespace: "default", service("served", clusterIP: "127.0.0.77"))
        _ = try await api.create(services, namespace: "default", service("pending", clusterIP: "198.51.100.77"))
        #expect(Allocator.isLocalAddress("127.0.0.77"))
        #expect(!Allocator.isLocalAddress("198.51.100.77"))

        let pod: JSONValue = ["metadata": ["name": "client", "namespace": "default"], "spec": [:]]
        let setup = PodSetup(api: api, pod: pod, directory: "/nonexistent", stateDirectory: "/nonexistent")
        let lines = await setup.hostsFile(podIP: "10.88.0.5").split(separator: "\n").map(String.init)
        #expect(lines.contains("127.0.0.77\tserved.default.svc.cluster.local served.default.svc served.default served"))
        #expect(!lines.contains { $0.contains("pending") || $0.contains("198.51.100.77") })
        #expect(lines.contains("10.88.0.5\tclient"))
    }
}
