import Foundation

/// `components[].actions`: commands run on create, deploy and remove.
public struct ZarfComponentActions: Codable, Sendable, Equatable {
    public var onCreate: ZarfComponentActionSet?
    public var onDeploy: ZarfComponentActionSet?
    public var onRemove: ZarfComponentActionSet?
    public init() {}
}

/// One phase's actions: defaults, before, after, onSuccess, onFailure.
public struct ZarfComponentActionSet: Codable, Sendable, Equatable {
    public var defaults: ZarfComponentActionDefaults?
    public var before: [ZarfComponentAction]?
    public var after: [ZarfComponentAction]?
    public var onSuccess: [ZarfComponentAction]?
    public var onFailure: [ZarfComponentAction]?
    public init() {}
}

/// Defaults applied to every action of a set.
public struct ZarfComponentActionDefaults: Codable, Sendable, Equatable {
    public var mute: Bool?
    public var maxTotalSeconds: Int?
    public var maxRetries: Int?
    public var dir: String?
    public var env: [String]?
    public var shell: ZarfShell?
}

/// One action: a command (or a wait) with its options.
public struct ZarfComponentAction: Codable, Sendable, Equatable {
    public var mute: Bool?
    public var maxTotalSeconds: Int?
    public var maxRetries: Int?
    public var dir: String?
    public var env: [String]?
    public var cmd: String?
    public var shell: ZarfShell?
    public var setVariable: String?
    public var setVariables: [ZarfVariable]?
    public var setValues: [ZarfSetValue]?
    public var description: String?
    public var wait: ZarfComponentActionWait?
    public var template: Bool?
    public init(cmd: String? = nil) { self.cmd = cmd }
}

/// The shell per OS for an action.
public struct ZarfShell: Codable, Sendable, Equatable {
    public var windows: String?
    public var linux: String?
    public var darwin: String?
}

/// `setVariables[]` of an action.
public struct ZarfVariable: Codable, Sendable, Equatable {
    public var name: String
    public var sensitive: Bool?
    public var autoIndent: Bool?
    public var pattern: String?
    public var type: String?
}

/// `setValues[]` of an action.
public struct ZarfSetValue: Codable, Sendable, Equatable {
    public var key: String?
    public var value: AnyValue?
    public var type: String?
}

/// `wait` of an action: for a cluster resource or a network endpoint.
public struct ZarfComponentActionWait: Codable, Sendable, Equatable {
    public var cluster: ZarfComponentActionWaitCluster?
    public var network: ZarfComponentActionWaitNetwork?
}

/// `wait.cluster`.
public struct ZarfComponentActionWaitCluster: Codable, Sendable, Equatable {
    public var kind: String
    public var name: String
    public var namespace: String?
    public var condition: String?
}

/// `wait.network`.
public struct ZarfComponentActionWaitNetwork: Codable, Sendable, Equatable {
    public var `protocol`: String
    public var address: String
    public var code: Int?
}
