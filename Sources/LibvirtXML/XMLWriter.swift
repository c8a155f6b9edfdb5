/// Renders element trees as XML text. The only place vmctl turns values into markup.
public enum XMLWriter {
    public static func render(_ element: XML.Element, indent: String = "  ") -> String {
        var out = ""
        write(element, depth: 0, indent: indent, into: &out)
        return out
    }

    private static func write(_ element: XML.Element, depth: Int, indent: String, into out: inout String) {
        let pad = String(repeating: indent, count: depth)
        out += pad + "<" + element.name
        for attribute in element.attributes {
            out += " \(attribute.name)=\"\(escape(attribute.value, quotes: true))\""
        }
        if element.children.isEmpty {
            out += "/>\n"
            return
        }
        // Mixed content is written inline so that no whitespace is added to text values.
        let onlyElements = element.children.allSatisfy { if case .element = $0 { true } else { false } }
        if !onlyElements {
            out += ">"
            for child in element.children {
                switch child {
                case .text(let text): out += escape(text, quotes: false)
                case .element(let e): out += render(e, indent: "").trimmingNewline()
                }
            }
            out += "</\(element.name)>\n"
            return
        }
        out += ">\n"
        for case .element(let child) in element.children {
            write(child, depth: depth + 1, indent: indent, into: &out)
        }
        out += pad + "</\(element.name)>\n"
    }

    public static func escape(_ text: String, quotes: Bool) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where quotes: out += "&quot;"
            case "'" where quotes: out += "&apos;"
            // Tabs and newlines inside attributes would be normalised to spaces by any reader.
            case "\n" where quotes: out += "&#10;"
            case "\t" where quotes: out += "&#9;"
            case "\r": out += "&#13;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

private extension String {
    func trimmingNewline() -> String { hasSuffix("\n") ? String(dropLast()) : self }
}
