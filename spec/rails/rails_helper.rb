# frozen_string_literal: true

# The Rails specs: the application of app_boot.rb on a throwaway SQLite database (and on
# PostgreSQL too for the model specs when DATABASE_URL points to one), the test site of
# spec_helper.rb, and, for the Sidekiq specs, a throwaway redis-server and a real Sidekiq process.
require_relative "../spec_helper"
require "socket"
require "tmpdir"

module RailsSpec
  ROOT = File.expand_path("../..", __dir__)
  APP_BOOT = File.expand_path("app_boot.rb", __dir__)
  TMP = Dir.mktmpdir("ucrawler-rails-spec")
  LOG = File.join(TMP, "rails.log")
  SQLITE_URL = "sqlite3:#{File.join(TMP, "spec.sqlite3")}?timeout=20000&pool=16".freeze
  # The caller's DATABASE_URL, if it is PostgreSQL: the model specs run there too.
  POSTGRES_URL = ENV["DATABASE_URL"]&.then { |url| url if url.start_with?("postgres://", "postgresql://") }
  # A schema of our own in that database, dropped at the end: no table of the database is touched.
  POSTGRES_SCHEMA = "ucrawler_spec_#{Process.pid}"
  POSTGRES_SKIP = "PostgreSQL not tested: DATABASE_URL is #{ENV["DATABASE_URL"] ? "not a postgres:// URL" : "unset"} " \
                  "(e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test rspec spec/rails)"

  class << self
    def boot
      ENV["DATABASE_URL"] = SQLITE_URL
      ENV["UCRAWLER_SPEC_LOG"] = LOG
      require APP_BOOT
      ActiveRecord::Migration.verbose = false
      ActiveRecord::Base.connection.execute("PRAGMA journal_mode=WAL")
      load_schema
    end

    def load_schema
      load File.expand_path("db/schema.rb", __dir__)
    end

    def database_name
      ActiveRecord::Base.connection.adapter_name
    end

    def use_sqlite
      ActiveRecord::Base.establish_connection(SQLITE_URL)
      forget_columns
    end

    # Models cache their columns (types, SQL types): switching adapters in one process must
    # forget them.
    def forget_columns
      ActiveRecord::Base.descendants.each(&:reset_column_information)
    end

    def use_postgres
      ActiveRecord::Base.establish_connection(POSTGRES_URL)
      ActiveRecord::Base.connection.execute("CREATE SCHEMA IF NOT EXISTS #{POSTGRES_SCHEMA}")
      ActiveRecord::Base.establish_connection(url: POSTGRES_URL, schema_search_path: POSTGRES_SCHEMA, pool: 16)
      forget_columns
      load_schema
    end

    # POSTGRES_URL in the specs' schema, for another process (Sidekiq, rake).
    def postgres_schema_url
      "#{POSTGRES_URL}#{POSTGRES_URL.include?("?") ? "&" : "?"}schema_search_path=#{POSTGRES_SCHEMA}"
    end

    def drop_postgres_schema
      return unless POSTGRES_URL

      ActiveRecord::Base.establish_connection(POSTGRES_URL)
      ActiveRecord::Base.connection.execute("DROP SCHEMA IF EXISTS #{POSTGRES_SCHEMA} CASCADE")
    ensure
      use_sqlite
    end

    def log_tail(path, bytes: 4000)
      File.exist?(path) ? File.read(path)[-bytes..] || File.read(path) : "(no #{path})"
    end
  end

  # The spec suite's throwaway redis-server, its files and log under TMP.
  class RedisServer < ::RedisServer
    def initialize
      super(dir: TMP)
    end
  end

  # `sidekiq -r ./spec/rails/app_boot.rb -q default -c N`, with our DATABASE_URL and REDIS_URL.
  class SidekiqProcess
    attr_reader :pid, :log

    def initialize(redis_url:, concurrency: 3, database_url: SQLITE_URL)
      @redis_url = redis_url
      @concurrency = concurrency
      @database_url = database_url
      @log = File.join(TMP, "sidekiq.log")
    end

    def start
      env = { "DATABASE_URL" => @database_url, "REDIS_URL" => @redis_url, "UCRAWLER_SPEC_LOG" => LOG,
              "RUBYOPT" => nil, "BUNDLE_GEMFILE" => nil }
      @pid = Process.spawn(env, "sidekiq", "-r", "./spec/rails/app_boot.rb", "-q", "default",
                           "-c", @concurrency.to_s, "-t", "5", "-e", "test",
                           chdir: ROOT, in: File::NULL, out: @log, err: @log)
      self
    end

    def running?
      @pid && Process.waitpid(@pid, Process::WNOHANG).nil?
    rescue Errno::ECHILD
      false
    end

    def stop
      return unless @pid

      ChildProcess.terminate(@pid, grace: 15)
    ensure
      @pid = nil
    end
  end

  # Helpers for examples.
  module Helpers
    # `count` sites on the test site's small pages (distinct URLs: the query differs).
    def create_sites(count, path: "/hostile/many-links/%<n>d?r=%<n>d", **attributes)
      now = Time.current
      rows = Array.new(count) do |i|
        { url: site_url(format(path, n: i + 1)), created_at: now, updated_at: now, **attributes }
      end
      Site.insert_all!(rows) unless rows.empty?
      Site.order(:id).last(count)
    end

    # Counts SQL statements matching `pattern` (by SQL text) run inside the block.
    def count_queries(pattern)
      count = 0
      callback = ->(*, payload) { count += 1 if payload[:sql].match?(pattern) }
      ActiveSupport::Notifications.subscribed(callback, "sql.active_record") { yield }
      count
    end

    # A model on the sites table, named `name`, its class body `body`.
    def model(name, &body)
      klass = Class.new(ApplicationRecord) { self.table_name = "sites" }
      stub_const(name, klass)
      klass.include(UcrawlerNative::Model)
      klass.class_eval(&body)
      klass
    end

    # Collects ActiveSupport::Notifications events named `name` published inside the block.
    def events(name)
      list = []
      callback = ->(*args) { list << ActiveSupport::Notifications::Event.new(*args) }
      ActiveSupport::Notifications.subscribed(callback, name) { yield }
      list
    end
  end
end

RailsSpec.boot

RSpec.configure do |config|
  config.include RailsSpec::Helpers, :rails
  config.before(:suite) do
    warn "\n[ucrawler_native Rails specs] models on SQLite (#{RailsSpec::TMP}); " +
         (RailsSpec::POSTGRES_URL ? "and on PostgreSQL (#{RailsSpec::POSTGRES_URL}, schema #{RailsSpec::POSTGRES_SCHEMA})" : RailsSpec::POSTGRES_SKIP)
  end
  config.after(:suite) do
    RailsSpec.drop_postgres_schema
    FileUtils.rm_rf(RailsSpec::TMP) unless ENV["UCRAWLER_SPEC_KEEP"]
  end
end
