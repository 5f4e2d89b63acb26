package eval

// glyph returns the 5×7 bitmap of r, one string per row, '#' for ink.
// Lower-case letters are drawn as upper case; unknown runes as '?'.
func glyph(r rune) [7]string {
	if r >= 'a' && r <= 'z' {
		r -= 'a' - 'A'
	}
	switch r {
	case ' ':
		return [7]string{"     ", "     ", "     ", "     ", "     ", "     ", "     "}
	case 'A':
		return [7]string{" ### ", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"}
	case 'B':
		return [7]string{"#### ", "#   #", "#   #", "#### ", "#   #", "#   #", "#### "}
	case 'C':
		return [7]string{" ### ", "#   #", "#    ", "#    ", "#    ", "#   #", " ### "}
	case 'D':
		return [7]string{"#### ", "#   #", "#   #", "#   #", "#   #", "#   #", "#### "}
	case 'E':
		return [7]string{"#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#####"}
	case 'F':
		return [7]string{"#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#    "}
	case 'G':
		return [7]string{" ### ", "#   #", "#    ", "# ###", "#   #", "#   #", " ####"}
	case 'H':
		return [7]string{"#   #", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"}
	case 'I':
		return [7]string{" ### ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "}
	case 'J':
		return [7]string{"  ###", "   # ", "   # ", "   # ", "   # ", "#  # ", " ##  "}
	case 'K':
		return [7]string{"#   #", "#  # ", "# #  ", "##   ", "# #  ", "#  # ", "#   #"}
	case 'L':
		return [7]string{"#    ", "#    ", "#    ", "#    ", "#    ", "#    ", "#####"}
	case 'M':
		return [7]string{"#   #", "## ##", "# # #", "# # #", "#   #", "#   #", "#   #"}
	case 'N':
		return [7]string{"#   #", "#   #", "##  #", "# # #", "#  ##", "#   #", "#   #"}
	case 'O':
		return [7]string{" ### ", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "}
	case 'P':
		return [7]string{"#### ", "#   #", "#   #", "#### ", "#    ", "#    ", "#    "}
	case 'Q':
		return [7]string{" ### ", "#   #", "#   #", "#   #", "# # #", "#  # ", " ## #"}
	case 'R':
		return [7]string{"#### ", "#   #", "#   #", "#### ", "# #  ", "#  # ", "#   #"}
	case 'S':
		return [7]string{" ####", "#    ", "#    ", " ### ", "    #", "    #", "#### "}
	case 'T':
		return [7]string{"#####", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  "}
	case 'U':
		return [7]string{"#   #", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "}
	case 'V':
		return [7]string{"#   #", "#   #", "#   #", "#   #", "#   #", " # # ", "  #  "}
	case 'W':
		return [7]string{"#   #", "#   #", "#   #", "# # #", "# # #", "# # #", " # # "}
	case 'X':
		return [7]string{"#   #", "#   #", " # # ", "  #  ", " # # ", "#   #", "#   #"}
	case 'Y':
		return [7]string{"#   #", "#   #", " # # ", "  #  ", "  #  ", "  #  ", "  #  "}
	case 'Z':
		return [7]string{"#####", "    #", "   # ", "  #  ", " #   ", "#    ", "#####"}
	case '0':
		return [7]string{" ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### "}
	case '1':
		return [7]string{"  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "}
	case '2':
		return [7]string{" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"}
	case '3':
		return [7]string{"#####", "   # ", "  #  ", "   # ", "    #", "#   #", " ### "}
	case '4':
		return [7]string{"   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "}
	case '5':
		return [7]string{"#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "}
	case '6':
		return [7]string{"  ## ", " #   ", "#    ", "#### ", "#   #", "#   #", " ### "}
	case '7':
		return [7]string{"#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   "}
	case '8':
		return [7]string{" ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### "}
	case '9':
		return [7]string{" ### ", "#   #", "#   #", " ####", "    #", "   # ", " ##  "}
	case '.':
		return [7]string{"     ", "     ", "     ", "     ", "     ", " ##  ", " ##  "}
	case ',':
		return [7]string{"     ", "     ", "     ", "     ", " ##  ", "  #  ", " #   "}
	case '-':
		return [7]string{"     ", "     ", "     ", "#####", "     ", "     ", "     "}
	case '_':
		return [7]string{"     ", "     ", "     ", "     ", "     ", "     ", "#####"}
	case ':':
		return [7]string{"     ", " ##  ", " ##  ", "     ", " ##  ", " ##  ", "     "}
	case '=':
		return [7]string{"     ", "     ", "#####", "     ", "#####", "     ", "     "}
	case '+':
		return [7]string{"     ", "  #  ", "  #  ", "#####", "  #  ", "  #  ", "     "}
	case '(':
		return [7]string{"   # ", "  #  ", " #   ", " #   ", " #   ", "  #  ", "   # "}
	case ')':
		return [7]string{" #   ", "  #  ", "   # ", "   # ", "   # ", "  #  ", " #   "}
	case '/':
		return [7]string{"     ", "    #", "   # ", "  #  ", " #   ", "#    ", "     "}
	case '%':
		return [7]string{"##   ", "##  #", "   # ", "  #  ", " #   ", "#  ##", "   ##"}
	default:
		return [7]string{" ### ", "#   #", "    #", "   # ", "  #  ", "     ", "  #  "}
	}
}

const (
	glyphW       = 5
	glyphH       = 7
	glyphAdvance = 6 // glyph width plus one column of space
)

// textWidth is the width in pixels of s drawn at the given scale.
func textWidth(s string, scale int) int {
	n := len([]rune(s))
	if n == 0 {
		return 0
	}
	return (n*glyphAdvance - 1) * scale
}
