extension String {
    /// The text without the trailing newlines libpq puts after its messages.
    var withoutTrailingNewlines: String {
        var text = Substring(self)
        while text.last == "\n" { text = text.dropLast() }
        return String(text)
    }
}
