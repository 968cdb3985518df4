#!/usr/bin/perl
# to-pgbench.pl: turns one SQL statement that uses $1, $2... parameters (as storygate
# prepares it) into a pgbench custom-script command that runs the same statement.
#
#   perl scripts/bench/to-pgbench.pl < statement.sql > statement.pgbench
#
# - $N becomes :pN; set pN in the script (\set p1 ...) or with pgbench -D pN=value.
#   With -M prepared, pgbench prepares the statement with $1, $2... in their place again.
# - pgbench takes ":name" as a variable even inside a string literal, so a literal that
#   holds such a colon ('YYYY-MM-DD"T"HH24:MI:SS') is rewritten as the same value in an
#   escape string (E'YYYY-MM-DD"T"HH24\x3aMI\x3aSS'): the server sees the same constant.
# - A semicolon ends the command (the statement may span lines).
# Only plain '...' literals are handled (not E'', U&'' or dollar quotes); the statement
# must not already end with a semicolon.
use strict;
use warnings;

local $/;
my $sql = <STDIN>;
die "to-pgbench.pl: empty statement on standard input\n" unless defined $sql && $sql =~ /\S/;
$sql =~ s/\s+\z//;
$sql =~ s/;\z//;

# Literals first, so the :pN written below are never inside one.
$sql =~ s{(?<![A-Za-z0-9_&])'((?:[^']|'')*)'}{
    my $body = $1;
    if ($body =~ /:[A-Za-z0-9_]/) {
        $body =~ s/\\/\\\\/g;
        $body =~ s/:/\\x3a/g;
        "E'$body'";
    } else {
        "'$body'";
    }
}ge;
$sql =~ s/\$([0-9]+)(?![0-9])/:p$1/g;
print "$sql;\n";
