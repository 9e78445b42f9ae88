import Foundation
import OutpostCore

/// The Kubernetes objects that run the agent: a ServiceAccount allowed to read namespaces (for the
/// `zarf.dev/agent` namespace labels), Deployment `agent-hook` (2 replicas, non-root, read-only root
/// filesystem, resources, HTTPS probes), its Service and TLS Secret, and the MutatingWebhookConfiguration
/// with one webhook per route (as Zarf's agent chart registers them).
public struct AgentManifests: Sendable {
    public var namespace = "zarf"
    public var name = "agent-hook"
    public var image: String
    public var replicas = 2
    public var caPEM: String
    public var certificatePEM: String
    public var keyPEM: String
    public var policy: MutationPolicy = .all
    public var timeoutSeconds = 10
    /// Name of the Secret holding the zarf-state (key `state`), mounted read-only for the server.
    public var stateSecret = "zarf-state"

    public init(image: String, caPEM: String, certificatePEM: String, keyPEM: String) {
        self.image = image
        self.caPEM = caPEM
        self.certificatePEM = certificatePEM
        self.keyPEM = keyPEM
    }

    public func objects() -> [JSONValue] {
        [serviceAccount(), clusterRole(), clusterRoleBinding(), secret(), deployment(), service(), webhookConfiguration()]
    }

    /// Cluster-wide names (ClusterRole, binding) carry the namespace so two installs do not collide.
    private var clusterName: String { "outpost-\(namespace)-\(name)" }

    func serviceAccount() -> JSONValue {
        ["apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": ["name": .string(name), "namespace": .string(namespace), "labels": appLabels]]
    }

    /// Only `get` on namespaces: the server reads their labels, nothing else.
    func clusterRole() -> JSONValue {
        ["apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": ["name": .string(clusterName), "labels": appLabels],
         "rules": [["apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]]]]
    }

    func clusterRoleBinding() -> JSONValue {
        ["apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": ["name": .string(clusterName), "labels": appLabels],
         "roleRef": ["apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": .string(clusterName)],
         "subjects": [["kind": "ServiceAccount", "name": .string(name), "namespace": .string(namespace)]]]
    }

    private func b64(_ s: String) -> JSONValue { .string(Data(s.utf8).base64EncodedString()) }
    private var appLabels: JSONValue { ["app": .string(name)] }

    func secret() -> JSONValue {
        ["apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
         "metadata": ["name": .string(name + "-tls"), "namespace": .string(namespace), "labels": appLabels],
         "data": ["tls.crt": b64(certificatePEM), "tls.key": b64(keyPEM), "ca.crt": b64(caPEM)]]
    }

    func deployment() -> JSONValue {
        let probe: JSONValue = ["httpGet": ["path": "/healthz", "port": 8443, "scheme": "HTTPS"],
                                "initialDelaySeconds": 1, "periodSeconds": 10, "timeoutSeconds": 2, "failureThreshold": 3]
        let container: JSONValue = [
            "name": "server", "image": .string(image), "imagePullPolicy": "IfNotPresent",
            "args": ["agent", "serve", "--port", "8443", "--tls-cert", "/etc/agent-tls/tls.crt",
                     "--tls-key", "/etc/agent-tls/tls.key", "--state", "/etc/zarf-state/state",
                     "--policy", .string(policy.rawValue)],
            "ports": [["name": "https", "containerPort": 8443, "protocol": "TCP"]],
            "livenessProbe": probe, "readinessProbe": probe,
            "resources": ["requests": ["cpu": "100m", "memory": "32Mi"], "limits": ["cpu": "500m", "memory": "128Mi"]],
            "securityContext": ["runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
                                "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
                                "capabilities": ["drop": ["ALL"]], "seccompProfile": ["type": "RuntimeDefault"]],
            "volumeMounts": [["name": "tls", "mountPath": "/etc/agent-tls", "readOnly": true],
                             ["name": "state", "mountPath": "/etc/zarf-state", "readOnly": true]],
        ]
        return [
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": ["name": .string(name), "namespace": .string(namespace), "labels": appLabels],
            "spec": [
                "replicas": .number(Double(replicas)),
                "selector": ["matchLabels": appLabels],
                "template": [
                    "metadata": ["labels": ["app": .string(name), "zarf.dev/agent": "ignore"]],
                    "spec": [
                        "imagePullSecrets": [["name": "private-registry"]],
                        "serviceAccountName": .string(name),
                        "automountServiceAccountToken": true,
                        "securityContext": ["runAsNonRoot": true, "fsGroup": 65532],
                        "containers": [container],
                        "volumes": [["name": "tls", "secret": ["secretName": .string(name + "-tls")]],
                                    ["name": "state", "secret": ["secretName": .string(stateSecret)]]],
                    ],
                ],
            ],
        ]
    }

    func service() -> JSONValue {
        ["apiVersion": "v1", "kind": "Service",
         "metadata": ["name": .string(name), "namespace": .string(namespace), "labels": appLabels],
         "spec": ["type": "ClusterIP", "selector": appLabels,
                  "ports": [["name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"]]]]
    }

    /// The resources each route is registered for: (webhook name, apiGroups, apiVersions, resources).
    static func rules(_ hook: Hook) -> (String, [String], [String], [String]) {
        switch hook {
        case .pod: return ("agent-pod.zarf.dev", [""], ["v1"], ["pods", "pods/ephemeralcontainers"])
        case .fluxOCIRepository: return ("agent-flux-ocirepo.zarf.dev", ["source.toolkit.fluxcd.io"], ["*"], ["ocirepositories"])
        case .fluxHelmRepository: return ("agent-flux-helmrepo.zarf.dev", ["source.toolkit.fluxcd.io"], ["*"], ["helmrepositories"])
        case .fluxGitRepository: return ("agent-flux-gitrepo.zarf.dev", ["source.toolkit.fluxcd.io"], ["v1beta1", "v1beta2", "v1"], ["gitrepositories"])
        case .argoApplication: return ("agent-argocd-application.zarf.dev", ["argoproj.io"], ["v1alpha1"], ["applications"])
        case .argoApplicationSet: return ("agent-argocd-applicationset.zarf.dev", ["argoproj.io"], ["v1alpha1"], ["applicationsets"])
        case .argoAppProject: return ("agent-argocd-appproject.zarf.dev", ["argoproj.io"], ["v1alpha1"], ["appprojects"])
        case .argoRepository: return ("agent-argocd-repository.zarf.dev", [""], ["v1"], ["secrets"])
        }
    }

    func webhookConfiguration() -> JSONValue {
        let ignore: JSONValue = ["key": "zarf.dev/agent", "operator": "NotIn", "values": ["skip", "ignore"]]
        var nsExpressions: [JSONValue] = [["key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system"]]]
        if policy == .all { nsExpressions.append(ignore) }
        let hooks: [JSONValue] = Hook.allCases.map { hook in
            let (webhook, groups, versions, resources) = Self.rules(hook)
            var objectExpressions: [JSONValue] = [ignore]
            if hook == .argoRepository {
                objectExpressions.append(["key": "argocd.argoproj.io/secret-type", "operator": "In", "values": ["repository", "repo-creds"]])
            }
            return [
                "name": .string(webhook),
                "admissionReviewVersions": ["v1", "v1beta1"],
                "clientConfig": ["caBundle": b64(caPEM),
                                 "service": ["name": .string(name), "namespace": .string(namespace),
                                             "path": .string(hook.path), "port": 443]],
                "rules": [["operations": ["CREATE", "UPDATE"], "apiGroups": .array(groups.map { .string($0) }),
                           "apiVersions": .array(versions.map { .string($0) }),
                           "resources": .array(resources.map { .string($0) }), "scope": "Namespaced"]],
                "namespaceSelector": ["matchExpressions": .array(nsExpressions)],
                "objectSelector": ["matchExpressions": .array(objectExpressions)],
                "failurePolicy": "Fail", "sideEffects": "None", "matchPolicy": "Equivalent",
                "reinvocationPolicy": "Never", "timeoutSeconds": .number(Double(timeoutSeconds)),
            ]
        }
        return ["apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
                "metadata": ["name": "zarf"], "webhooks": .array(hooks)]
    }
}
