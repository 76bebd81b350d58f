import Foundation
import SluiceSDK
import SluiceWire

/// How conformance reasons name protocol values: as PROTOCOL.md writes them, on one line.
enum ConformanceText {
    /// `PROTOCOL`, `CONFIG`, … (§7.2).
    static func category(_ category: ErrorCategory) -> String {
        switch category {
        case .unspecified: "UNSPECIFIED"
        case .config: "CONFIG"
        case .transient: "TRANSIENT"
        case .system: "SYSTEM"
        case .data: "DATA"
        case .protocol: "PROTOCOL"
        case .cancelled: "CANCELLED"
        }
    }

    /// `Error{PROTOCOL, UNEXPECTED_MESSAGE: message}`.
    static func error(_ error: PluginError) -> String {
        "Error{\(category(error.category)), \(error.code): \(oneLine(error.message))}"
    }

    /// The message's name; an Error with its category, code and message.
    static func name(_ message: PluginMessage) -> String {
        if case .error(let error) = message { return self.error(error) }
        return message.name
    }

    /// A failure of the SDK's host side, as a reason.
    static func reason(_ error: any Error) -> String {
        switch error {
        case let failure as ConformanceFailure: failure.reason
        case HostError.plugin(let pluginError): "the plugin answered \(self.error(pluginError))"
        default: oneLine("\(error)")
        }
    }

    /// `1 batch`, `3 batches`: `count` and the noun, plural unless the count is one.
    static func count(_ count: some BinaryInteger, _ singular: String, _ plural: String? = nil) -> String {
        "\(count) \(count == 1 ? singular : plural ?? singular + "s")"
    }

    /// `text` with its lines joined by ` | ` (a crashed plugin's stderr tail), for a one-line
    /// report; a line ending in a colon is followed by a space only.
    static func oneLine(_ text: String) -> String {
        var joined = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if !joined.isEmpty { joined += joined.hasSuffix(":") ? " " : " | " }
            joined += trimmed
        }
        return joined
    }
}
