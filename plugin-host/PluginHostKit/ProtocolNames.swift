import Foundation
import SluiceWire

/// The names the host's JSON files use for protocol enums and types, both ways.
enum ProtocolNames {
    private static let kinds: [(TypeKind, String)] = [
        (.bool, "bool"), (.int16, "int16"), (.int32, "int32"), (.int64, "int64"), (.float32, "float32"),
        (.float64, "float64"), (.decimal, "decimal"), (.string, "string"), (.bytes, "bytes"), (.date, "date"),
        (.time, "time"), (.timetz, "timetz"), (.timestamp, "timestamp"), (.timestamptz, "timestamptz"),
        (.interval, "interval"), (.uuid, "uuid"), (.json, "json"), (.list, "list"),
    ]

    /// `int64`, `list<string>`, …
    static func label(_ type: LogicalType) -> String {
        type.kind == .list ? "list<\(label(type.elementKind))>" : label(type.kind)
    }

    private static func label(_ kind: TypeKind) -> String {
        kinds.first { $0.0 == kind }?.1 ?? "unspecified"
    }

    /// The type named `text` (`int64`, `list<string>`), or nil.
    static func type(named text: String) -> LogicalType? {
        let name = text.trimmingCharacters(in: .whitespaces).lowercased()
        if name.hasPrefix("list<"), name.hasSuffix(">") {
            let element = String(name.dropFirst(5).dropLast())
            guard let kind = kinds.first(where: { $0.1 == element })?.0, kind != .list else { return nil }
            return .list(of: kind)
        }
        guard let kind = kinds.first(where: { $0.1 == name })?.0, kind != .list else { return nil }
        return LogicalType(kind)
    }

    /// Every accepted type name, for messages.
    static var typeNames: String { kinds.map(\.1).filter { $0 != "list" }.joined(separator: ", ") + ", list<…>" }

    /// `full_refresh`, `incremental` or `cdc`.
    static func label(_ mode: SyncMode) -> String {
        switch mode {
        case .fullRefresh: "full_refresh"
        case .incremental: "incremental"
        case .cdc: "cdc"
        case .unspecified: "unspecified"
        }
    }

    /// The sync mode named `text`, or nil.
    static func syncMode(named text: String) -> SyncMode? {
        switch text {
        case "full_refresh": .fullRefresh
        case "incremental": .incremental
        case "cdc": .cdc
        default: nil
        }
    }

    /// `append`, `upsert`, `update-only`, `mirror`, `replace`, or `destination default`.
    static func label(_ mode: WriteMode) -> String {
        switch mode {
        case .append: "append"
        case .upsert: "upsert"
        case .updateOnly: "update-only"
        case .mirror: "mirror"
        case .replace: "replace"
        case .unspecified: "destination default"
        }
    }

    /// The write mode named `text` (`update_only` is accepted too), or nil.
    static func writeMode(named text: String) -> WriteMode? {
        switch text {
        case "append": .append
        case "upsert": .upsert
        case "update-only", "update_only": .updateOnly
        case "mirror": .mirror
        case "replace": .replace
        case "unspecified", "default": .unspecified
        default: nil
        }
    }

    /// `error`, `warn`, `info`, `debug`, `trace`.
    static func label(_ level: LogLevel) -> String {
        switch level {
        case .error: "error"
        case .warn: "warn"
        case .info: "info"
        case .debug: "debug"
        case .trace: "trace"
        case .unspecified: "info"
        }
    }
}
