# frozen_string_literal: true

require_relative "rails_helper"
require_relative "generated_app"
require "json"

# `bin/rails generate ucrawler_native:install [MODEL]` in an application of its own
# (GeneratedApp): the files it writes, then `db:migrate` on SQLite and a model crawl of the test
# site with the generated columns, as an app would run them.
RSpec.describe "bin/rails generate ucrawler_native:install", :rails, timeout: 300 do
  let(:app) { RailsSpec::GeneratedApp.new(root: Dir.mktmpdir("generated-app", RailsSpec::TMP)).create }

  def rails!(*args, **options)
    output, status = app.rails(*args, **options)
    expect(status).to be_success, "bin/rails #{args.join(" ")} failed:\n#{output}"
    output
  end

  # Runs `code` with `bin/rails runner` in the app; returns what it printed last, as JSON.
  def runner_json(code, env: {})
    app.write("script/spec.rb", code)
    JSON.parse(rails!("runner", "script/spec.rb", env: env).lines.last)
  end

  it "writes the initializer, every setting commented out at its default, and the dashboard mounted (locked)" do
    output = rails!("generate", "ucrawler_native:install")
    expect(output).to match(%r{create\s+config/initializers/ucrawler_native\.rb}).and match(/route\s+# The crawler dashboard/)

    initializer = app.read("config/initializers/ucrawler_native.rb")
    (UcrawlerNative::Options.names + UcrawlerNative::MODEL_OPTIONS).each do |name|
      expect(initializer.scan(/^  # config\.ucrawler_native\.#{name} = \S/).size).to eq(1), "#{name} in:\n#{initializer}"
    end
    expect(initializer).to include("  # config.ucrawler_native.timeout = 30.seconds", "  # config.ucrawler_native.max_body = 10.megabytes",
                                   "  # config.ucrawler_native.depth = nil", "# UcrawlerNative.on_error {",
                                   "# UcrawlerNative.error_trackers = %i[honeybadger sentry rails]")
    expect(initializer.lines.grep(/^\s*(config\.|UcrawlerNative\.)/)).to be_empty # nothing set

    routes = app.read("config/routes.rb")
    expect(routes).to include('  mount UcrawlerNative::Web => "/crawler"', "  # authenticate :user")
    expect(routes.scan(/^\s*mount\b/).size).to eq(1)
    # Mounted and locked: the generated app answers 403 until access is configured.
    expect(runner_json(<<~RUBY)).to eq([403, 403])
      app = Rails.application
      codes = ["/crawler/", "/crawler/api/overview.json"].map { |path| app.call(Rack::MockRequest.env_for(path, "HTTP_HOST" => "localhost"))[0] }
      puts JSON.generate(codes)
    RUBY

    expect(runner_json("puts JSON.generate(UcrawlerNative.defaults)")).to eq({}) # boots as generated

    # Every line, uncommented, is accepted at boot and is the default (but the two that show an example).
    app.write("config/initializers/ucrawler_native.rb", initializer.gsub(/^  # (config\.ucrawler_native\.)/, '  \1'))
    set = runner_json(<<~RUBY)
      defaults = UcrawlerNative.defaults
      engine = UcrawlerNative::Options.normalize(defaults.except(*UcrawlerNative::MODEL_OPTIONS))
      differ = engine.reject { |name, value| UcrawlerNative::Options.defaults[name] == value }.keys
      puts JSON.generate(names: defaults.keys, differ: differ, model: defaults.slice(*UcrawlerNative::MODEL_OPTIONS))
    RUBY
    expect(set["names"]).to match_array((UcrawlerNative::Options.names + UcrawlerNative::MODEL_OPTIONS).map(&:to_s))
    expect(set["differ"]).to include("user_agent")
    expect(set["differ"] - %w[user_agent max_memory]).to be_empty
    expect(set["model"]).to eq("batch_size" => 1000, "on_error" => "raise")

    app.write("config/initializers/ucrawler_native.rb", initializer)
    again = rails!("generate", "ucrawler_native:install")
    expect(again).to match(%r{identical\s+config/initializers/ucrawler_native\.rb}).and match(%r{identical\s+config/routes\.rb})
    expect(app.read("config/routes.rb").scan("UcrawlerNative::Web").size).to eq(3) # not added twice
  end

  it "with an existing model: adds the missing columns and the declaration; the migration runs and the model crawls with them" do
    app.write("db/migrate/20200101000000_create_sites.rb", <<~RUBY)
      class CreateSites < ActiveRecord::Migration[6.1]
        def change
          create_table(:sites) { |t| t.string :url; t.string :title; t.timestamps }
        end
      end
    RUBY
    app.write("app/models/site.rb", "class Site < ApplicationRecord\n  scope :secure, -> { where(\"url LIKE 'https:%'\") }\nend\n")
    rails!("db:migrate")

    output = rails!("generate", "ucrawler_native:install", "Site")
    expect(output).to match(%r{create\s+db/migrate/\d+_add_ucrawler_native_to_sites\.rb}).and match(%r{insert\s+app/models/site\.rb})
    migration = File.read(Dir[app.path("db/migrate/*_add_ucrawler_native_to_sites.rb")].first)
    %w[http_status:integer crawl_error:string crawled_at:datetime etag:string last_modified:string content_hash:string
       checked_at:datetime next_crawl_at:datetime crawl_interval:integer].each do |column|
      name, type = column.split(":")
      expect(migration).to include("add_column :sites, :#{name}, :#{type}")
    end
    expect(migration).to include("add_index :sites, :next_crawl_at").and include("ActiveRecord::Migration[6.1]")
    expect(migration).not_to match(/:url|:title/) # the table has them

    model = app.read("app/models/site.rb")
    expect(model).to include("include UcrawlerNative::Model", "crawls :url,", "update: { http_status: :status, crawl_error: :error, crawled_at: :now }",
                             "next_crawl_at: :next_crawl_at, interval: :crawl_interval", "scope :secure")
    rails!("db:migrate")

    result = runner_json(<<~RUBY, env: { "CRAWL_URLS" => [page_url(1), page_url(2), page_url(TestSite::PAGES + 8)].join(" ") })
      ENV.fetch("CRAWL_URLS").split.each { |url| Site.create!(url: url) }
      first = Site.crawl_and_update
      rows = Site.order(:id).map do |site|
        site.attributes.slice("http_status", "crawl_error", "etag", "content_hash", "crawl_interval")
            .merge(%w[crawled_at checked_at next_crawl_at].to_h { |column| [column, !site[column].nil?] })
      end
      second = Site.due_for_crawl(1.year.from_now).crawl_and_update
      puts JSON.generate(first: first, second: second, rows: rows)
    RUBY
    expect(result["first"]).to include("seeds" => 3, "pages" => 3, "errors" => 1, "rows_written" => 3)
    visited = { "crawled_at" => true, "checked_at" => true, "next_crawl_at" => true, "crawl_interval" => 86_400 }
    expect(result["rows"]).to match(
      [include("http_status" => 200, "crawl_error" => nil, "content_hash" => match(/\A\h{16}\z/), **visited),
       include("http_status" => 200, "crawl_error" => nil, "content_hash" => match(/\A\h{16}\z/), **visited),
       include("http_status" => 404, "crawl_error" => "http_status", "content_hash" => nil, "checked_at" => true)]
    )
    expect(result["second"]["changes"]).to include("unchanged" => 2, "not_modified" => 2)
    expect(app.read("log/app.log")).to match(/ucrawler_native: crawled Site: 3 seeds, 3 pages, 1 page errors, 0 block errors in \d+\.\d\ds$/)

    again = rails!("generate", "ucrawler_native:install", "Site")
    expect(again).to match(/skip\s+migration: sites has every crawl column/).and match(%r{identical\s+app/models/site\.rb})
  end

  it "with a new model: creates its table and the model" do
    output = rails!("generate", "ucrawler_native:install", "Page", "--url-column=address")
    expect(output).to match(%r{create\s+db/migrate/\d+_create_pages\.rb}).and match(%r{create\s+app/models/page\.rb})
    migration = File.read(Dir[app.path("db/migrate/*_create_pages.rb")].first)
    expect(migration).to include("create_table :pages do |t|", "t.string :address", "t.integer :crawl_interval", "t.timestamps")
    expect(app.read("app/models/page.rb")).to include("class Page < ApplicationRecord", "include UcrawlerNative::Model", "crawls :address,")
    rails!("db:migrate")

    result = runner_json(<<~RUBY, env: { "CRAWL_URL" => page_url(3) })
      page = Page.create!(address: ENV.fetch("CRAWL_URL"))
      stats = page.crawl_and_update
      puts JSON.generate(stats: stats, page: page.attributes.slice("http_status", "etag", "content_hash", "crawl_interval"))
    RUBY
    expect(result["stats"]).to include("seeds" => 1, "pages" => 1, "rows_written" => 1)
    expect(result["page"]).to include("http_status" => 200, "content_hash" => match(/\A\h{16}\z/), "crawl_interval" => 86_400)
  end
end
