#!/usr/bin/env perl
# Checks the layering rule of issue 12 ("no SQL and no database type outside the storage
# folders"): a C++ file under services/, gateway/, console/ or cli/ that is not inside a
# `storage/` folder must not
#   1. include sqlite3.h, libpq-fe.h, a runtime/sqlite/ header, or a runtime/storage/ header other
#      than the engine-free ones in %allowed_headers (or a per-file exemption below);
#   2. name a runtime::storage type other than those in %allowed_names (Database, Transaction,
#      Statement, Connection, ...), anything of runtime::sqlite, an alias or using-directive of
#      either namespace, or the SQLite / libpq C API (sqlite3_*, PGconn, PQexec, ...);
#   3. hold SQL in a string literal (SELECT ..., INSERT INTO, UPDATE x SET, DELETE FROM,
#      CREATE/DROP/ALTER TABLE, PRAGMA, BEGIN IMMEDIATE, ...; upper case, as our SQL is written).
# Comments are ignored. Prints each violation as file:line: reason and fails when there is one.
#   tests/style/check_layering.pl <source root>
use strict;
use warnings;
use File::Find;

my $root = shift or die "usage: check_layering.pl <source root>\n";
chdir $root or die "cannot enter $root: $!\n";

# runtime/storage headers with no database in them, which the API and domain layers use:
# the one etag format and the one keyset pager (a page token's position; the rows it pages
# come from storage/).
my %allowed_headers = map { $_ => 1 } qw(
  runtime/storage/etag.h
  runtime/storage/keyset_page.h
);
# The names those two headers declare.
my %allowed_names = map { $_ => 1 } qw(Etag ParseEtag CheckEtag KeysetPage PageLimits);

# Per-file exemptions, "path" => [headers]: wiring code that chooses an engine and therefore
# has to see it. None is needed today: every service opens its database through its own
# storage/ folder (Store::Open from the ServerConfig), so main.cc and the hosts see only the
# config. Add an entry only with a comment saying why that file must see the engine.
my %exempt = ();

my @dirs = grep { -d } qw(services gateway console cli);
die "none of services/ gateway/ console/ cli/ under $root\n" unless @dirs;
my @files;
find(
  {
    wanted => sub {
      return unless -f && /\.(cc|h)$/;
      my $path = $File::Find::name;
      return if $path =~ m{(^|/)storage/};
      return if $path =~ m{(^|/)build[^/]*/};
      push @files, $path;
    },
    no_chdir => 1,
  },
  @dirs);
@files = sort @files;

my $sql = qr/
    \bSELECT\s+(?:DISTINCT\s+)?[\w*(] | \bINSERT\s+(?:OR\s+\w+\s+)?INTO\b | \bUPDATE\s+\w+\s+SET\b
  | \bDELETE\s+FROM\b | \b(?:CREATE|DROP|ALTER)\s+(?:TEMP(?:ORARY)?\s+|UNIQUE\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)\b
  | \bPRAGMA\s+\w | \bBEGIN\s+(?:IMMEDIATE|EXCLUSIVE|DEFERRED|TRANSACTION|ISOLATION)\b
  | \bWITH\s+RECURSIVE\b | \bON\s+CONFLICT\b | \bRETURNING\s+\w+\s*$ /x;

my $violations = 0;
sub report {
  my ($file, $line, $why) = @_;
  print STDERR "$file:$line: $why\n";
  $violations++;
}

for my $file (@files) {
  open(my $fh, '<', $file) or die "$file: $!\n";
  local $/;
  my $text = <$fh>;
  close $fh;

  # 1. Includes, line by line.
  my $n = 0;
  for my $line (split /\n/, $text, -1) {
    $n++;
    next unless $line =~ m{^\s*#\s*include\s*[<"]([^">]+)[">]};
    my $header = $1;
    next unless $header =~ m{^(?:sqlite3\.h|libpq-fe\.h|runtime/sqlite/|runtime/storage/)};
    next if $allowed_headers{$header};
    next if grep { $_ eq $header } @{ $exempt{$file} // [] };
    report($file, $n, "includes <$header>: database code belongs in a storage/ folder");
  }

  # Split the file into code (comments and literals blanked, newlines kept) and string literals.
  my $code = '';
  my @literals;  # [line, text]
  my $line = 1;
  while (
    $text =~ m{\G(?:
        (//[^\n]*)                                   # 1 line comment
      | (/\*.*?\*/)                                  # 2 block comment
      | R"([^(\s]{0,16})\((.*?)\)\3"                 # 3,4 raw string
      | "((?:\\.|[^"\\\n])*)"                        # 5 string
      | (?<![\w])('(?:\\[^'\n]{1,8}|[^'\\\n])')      # 6 character literal
      | ([^/"'R]+|.)                                 # 7 anything else
    )}gsx
    ) {
    if (defined $1 || defined $2) {
      my $c = defined $1 ? $1 : $2;
      my $newlines = ($c =~ tr/\n//);
      $code .= ' ' . ("\n" x $newlines);
      $line += $newlines;
    } elsif (defined $4 || defined $5) {
      my $s = defined $4 ? $4 : $5;
      push @literals, [$line, $s];
      my $newlines = ($s =~ tr/\n//);
      $code .= '""' . ("\n" x $newlines);
      $line += $newlines;
    } elsif (defined $6) {
      $code .= "' '";
    } else {
      my $c = $7;
      $line += ($c =~ tr/\n//);
      $code .= $c;
    }
  }

  # 2. Database names in code (not comments).
  $n = 0;
  for my $l (split /\n/, $code, -1) {
    $n++;
    next if $l =~ m{^\s*#\s*include};
    while ($l =~ m{\bruntime::storage::(\w+)}g) {
      report($file, $n, "names runtime::storage::$1: database types stay in a storage/ folder")
        unless $allowed_names{$1};
    }
    report($file, $n, "names runtime::sqlite: database types stay in a storage/ folder")
      if $l =~ m{\bruntime::sqlite\b|\bsqlite::\w};
    report($file, $n, "aliases or opens a database namespace")
      if $l =~ m{\bnamespace\s+\w+\s*=\s*(?:::)?(?:dorset::)?runtime::(?:storage|sqlite)\b}
      || $l =~ m{\busing\s+namespace\s+(?:::)?(?:dorset::)?(?:runtime::)?(?:storage|sqlite)\b};
    report($file, $n, "uses the SQLite or libpq C API")
      if $l =~ m{\bsqlite3(?:_\w+)?\b|\bPG(?:conn|result)\b|\bPQ[a-z]\w*\s*\(};
  }

  # 3. SQL in string literals.
  for my $lit (@literals) {
    my ($at, $s) = @$lit;
    (my $shown = substr($s, 0, 60)) =~ s{\s+}{ }g;
    report($file, $at, "SQL in a string literal (\"$shown\"): SQL belongs in a storage/ folder")
      if $s =~ $sql;
  }
}

if ($violations) {
  print STDERR "$violations layering violation(s) in " . scalar(@files) . " files outside storage/ folders "
    . "(docs/architecture.md: SQL and database types only under services/<svc>/storage/)\n";
  exit 1;
}
print "no SQL and no database type in " . scalar(@files) . " files outside storage/ folders\n";
exit 0;
