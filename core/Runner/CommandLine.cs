using System.Text;

namespace EnvFabric.Core.Runner;

/// <summary>
/// Splits a command string into argv the way a POSIX shell tokenizes words, without being a shell: whitespace
/// separates words; single quotes keep everything literally; double quotes keep everything but a backslash before
/// <c>\ " $ `</c> or a newline; a backslash outside quotes escapes the next character. Nothing is expanded:
/// <c>$HOME</c>, <c>*</c>, <c>|</c>, <c>&gt;</c> and <c>;</c> are ordinary characters.
/// </summary>
public static class CommandLine
{
    /// <summary>Splits <paramref name="command"/>; false with a reason for an unterminated quote, a trailing backslash or an empty command.</summary>
    public static bool TrySplit(string? command, out IReadOnlyList<string> argv, out string? error)
    {
        var words = new List<string>();
        argv = words;
        if (string.IsNullOrWhiteSpace(command))
        {
            error = "the command is empty";
            return false;
        }

        var word = new StringBuilder();
        var inWord = false;
        for (var i = 0; i < command.Length; i++)
        {
            var c = command[i];
            switch (c)
            {
                case ' ' or '\t' or '\n' or '\r':
                    if (inWord)
                    {
                        words.Add(word.ToString());
                        word.Clear();
                        inWord = false;
                    }

                    break;
                case '\'':
                    inWord = true;
                    var close = command.IndexOf('\'', i + 1);
                    if (close < 0)
                    {
                        error = $"unterminated single quote at position {i}";
                        return false;
                    }

                    word.Append(command, i + 1, close - i - 1);
                    i = close;
                    break;
                case '"':
                    inWord = true;
                    var start = i;
                    for (i++; ; i++)
                    {
                        if (i >= command.Length)
                        {
                            error = $"unterminated double quote at position {start}";
                            return false;
                        }

                        var d = command[i];
                        if (d == '"')
                        {
                            break;
                        }

                        if (d == '\\' && i + 1 < command.Length && command[i + 1] is '\\' or '"' or '$' or '`' or '\n')
                        {
                            i++;
                            if (command[i] != '\n')
                            {
                                word.Append(command[i]);
                            }

                            continue;
                        }

                        word.Append(d);
                    }

                    break;
                case '\\':
                    if (i + 1 >= command.Length)
                    {
                        error = "trailing backslash";
                        return false;
                    }

                    i++;
                    if (command[i] != '\n')
                    {
                        // A backslash-newline is a line continuation, not a character.
                        word.Append(command[i]);
                        inWord = true;
                    }

                    break;
                default:
                    word.Append(c);
                    inWord = true;
                    break;
            }
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        if (words.Count == 0)
        {
            error = "the command is empty";
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>Splits <paramref name="command"/> or throws <see cref="ArgumentException"/> with the reason.</summary>
    public static IReadOnlyList<string> Split(string command) =>
        TrySplit(command, out var argv, out var error) ? argv : throw new ArgumentException(error, nameof(command));

    /// <summary>Quotes argv back into one line for logs (single quotes where needed).</summary>
    public static string Join(IEnumerable<string> argv)
    {
        ArgumentNullException.ThrowIfNull(argv);
        return string.Join(' ', argv.Select(Quote));
    }

    private static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c, StringComparison.Ordinal))
            ? arg
            : "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
