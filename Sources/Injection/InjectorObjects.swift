import Foundation
import OutpostCore

/// The Kubernetes objects of a seed-registry injection, with the names, labels and fields Zarf uses so
/// the same cluster procedures (and clean-up selectors) apply: payload ConfigMaps, the injector-binary
/// ConfigMap, the injector Pod and its NodePort Service. Pure: bytes in, JSON objects out.
public enum InjectorObjects {
    public static let namespace = "zarf"
    public static let binaryConfigMapName = "rust-binary"
    public static let binaryKey = "zarf-injector"
    public static let podName = "injector"
    public static let serviceName = "zarf-injector"
    public static let port = 5000
    /// Stands in for the image when no node or pod list was given; the operator replaces it.
    public static let imagePlaceholder = "REPLACE-WITH-AN-IMAGE-PRESENT-ON-THE-NODE"

    /// ConfigMap `zarf-payload-NNN` holding one chunk under the key of the same name.
    public static func payloadConfigMap(chunkName: String, data: Data, packageName: String) -> JSONValue {
        [
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": [
                "name": .string(chunkName),
                "namespace": .string(namespace),
                "labels": ["zarf-injector": "payload", "zarf.dev/package": .string(packageName)],
            ],
            "binaryData": .object([chunkName: .string(data.base64EncodedString())]),
        ]
    }

    /// ConfigMap `rust-binary` holding the injector executable under `zarf-injector`.
    public static func binaryConfigMap(binary: Data, packageName: String) -> JSONValue {
        [
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": [
                "name": .string(binaryConfigMapName),
                "namespace": .string(namespace),
                "labels": ["zarf-injector": "binary", "zarf.dev/package": .string(packageName)],
            ],
            "binaryData": .object([binaryKey: .string(binary.base64EncodedString())]),
        ]
    }

    /// The injector Pod: runs `/zarf-init/zarf-injector <sha256> 0.0.0.0:5000` on an image already on
    /// the node, pinned with nodeName, each chunk mounted with subPath, ready when `/v2/` answers.
    public static func pod(chunkNames: [String], payloadSHA256: String, image: String, nodeName: String?) -> JSONValue {
        var volumes: [JSONValue] = [
            ["name": "init", "configMap": ["name": .string(binaryConfigMapName), "defaultMode": 0o777]],
            ["name": "seed", "emptyDir": [:]],
        ]
        var mounts: [JSONValue] = [
            ["name": "init", "mountPath": "/zarf-init/zarf-injector", "subPath": .string(binaryKey)],
            ["name": "seed", "mountPath": "/zarf-seed"],
        ]
        for name in chunkNames {
            volumes.append(["name": .string(name), "configMap": ["name": .string(name)]])
            mounts.append(["name": .string(name), "mountPath": .string("/zarf-init/" + name), "subPath": .string(name)])
        }
        let container: JSONValue = [
            "name": "injector",
            "image": .string(image),
            "imagePullPolicy": "IfNotPresent",
            "workingDir": "/zarf-init",
            "command": ["/zarf-init/zarf-injector", .string(payloadSHA256), .string("0.0.0.0:\(port)")],
            "ports": [["name": "registry", "containerPort": .number(Double(port)), "protocol": "TCP"]],
            "volumeMounts": .array(mounts),
            "securityContext": [
                "readOnlyRootFilesystem": true,
                "allowPrivilegeEscalation": false,
                "runAsNonRoot": true,
                "capabilities": ["drop": ["ALL"]],
            ],
            "readinessProbe": [
                "httpGet": ["path": "/v2/", "port": .number(Double(port))],
                "periodSeconds": 2,
                "successThreshold": 1,
                "failureThreshold": 10,
            ],
            "resources": [
                "requests": ["cpu": "500m", "memory": "64Mi"],
                "limits": ["cpu": "1", "memory": "256Mi"],
            ],
        ]
        var spec: [String: JSONValue] = [
            "restartPolicy": "Never",
            "securityContext": [
                "runAsUser": 1000,
                "runAsGroup": 2000,
                "fsGroup": 2000,
                "seccompProfile": ["type": "RuntimeDefault"],
            ],
            "containers": [container],
            "volumes": .array(volumes),
        ]
        if let nodeName { spec["nodeName"] = .string(nodeName) }
        return [
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": [
                "name": .string(podName),
                "namespace": .string(namespace),
                "labels": ["app": "zarf-injector", "zarf.dev/injector": "true", "zarf.dev/agent": "ignore"],
            ],
            "spec": .object(spec),
        ]
    }

    /// The NodePort Service `zarf-injector` on port 5000 (the node port is assigned by the cluster).
    public static func service() -> JSONValue {
        [
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": [
                "name": .string(serviceName),
                "namespace": .string(namespace),
                "labels": ["app": "zarf-injector"],
            ],
            "spec": [
                "type": "NodePort",
                "selector": ["app": "zarf-injector"],
                "ports": [["name": "registry", "port": .number(Double(port)), "targetPort": .number(Double(port)), "protocol": "TCP"]],
            ],
        ]
    }
}
