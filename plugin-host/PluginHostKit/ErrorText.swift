import Foundation

/// Errors in words for messages: never a Swift type name such as `CancellationError()`, nor a
/// Foundation error domain and number.
enum ErrorText {
    /// What went wrong, for a person.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let failure as HostFailure: return failure.message
        case is CancellationError: return "cancelled"
        default: break
        }
        let bridged = error as NSError
        if bridged.domain == NSPOSIXErrorDomain { return posixText(bridged.code) }
        if let underlying = bridged.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return posixText(underlying.code)
        }
        if bridged.domain == NSCocoaErrorDomain { return bridged.localizedFailureReason ?? "an input or output error" }
        // An error without a description of its own prints as its type (`SomeError(field: 1)`).
        let text = String(describing: error)
        return text.hasPrefix(String(describing: type(of: error))) ? "an unexpected error" : text
    }

    /// The system's text of an errno value ("Broken pipe").
    static func posixText(_ code: Int) -> String {
        String(cString: strerror(Int32(truncatingIfNeeded: code)))
    }
}
