# Turns a text file into a C string constant `const char <name>[]`.
BEGIN { printf "const char %s[] =\n", name }
{
	gsub(/\\/, "&&")
	gsub(/"/, "\\\"")
	printf "\t\"%s\\n\"\n", $0
}
END { print ";" }
